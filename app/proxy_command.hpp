// proxy_command.hpp: `streambed proxy` — the network impairment proxy on its own, with its
// HTTP control API.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

// Adds the subcommand; the returned function runs it once the command line is parsed.
std::function<int()> add_proxy_command(CLI::App& app);

}  // namespace streambed::app
