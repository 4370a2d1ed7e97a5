// replay_command.hpp: `streambed replay FILE.db` — a recording served through the same protocol.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

std::function<int()> add_replay_command(CLI::App& app);

}  // namespace streambed::app
