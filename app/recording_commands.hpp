// recording_commands.hpp: `streambed inspect` and `streambed export` over a recording.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

std::function<int()> add_inspect_command(CLI::App& app);
std::function<int()> add_export_command(CLI::App& app);

}  // namespace streambed::app
