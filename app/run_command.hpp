// run_command.hpp: `streambed run SCENARIO.json` — runs a scripted scenario (docs/scenarios.md).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

// Exit 0: every expectation held; 1: one failed (each failing one is named with its measured
// value, then the line that reproduces the run); 2: a bad scenario file or option.
std::function<int()> add_run_command(CLI::App& app);

}  // namespace streambed::app
