// bench_command.hpp: `streambed bench` — an end-to-end fan-out load test on loopback.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

std::function<int()> add_bench_command(CLI::App& app);

}  // namespace streambed::app
