// serve_command.hpp: `streambed serve` — the server with the simulator feeding it, optionally recording.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

// Adds the subcommand; the returned function runs it once the command line is parsed.
std::function<int()> add_serve_command(CLI::App& app);

}  // namespace streambed::app
