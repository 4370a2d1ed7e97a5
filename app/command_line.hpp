// command_line.hpp: the whole command line of `streambed`, apart from main() so that the
// commands and CLI11 compile in one unity batch (main.cpp alone parsed CLI11 for 8 s).
#pragma once

namespace streambed::app {

// Parses argv, runs the one command it names and returns the process's exit status.
int run_command_line(int argc, char** argv);

}  // namespace streambed::app
