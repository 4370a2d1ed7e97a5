// verify_command.hpp: `streambed verify FILE.db` — each recorded client session re-driven
// against a fresh server with the recorded seed and configuration, and compared.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace streambed::app {

// Exit 0: every session got what it got when recorded; 1: a difference (the first one per
// session is printed); 2: bad options or a file that cannot be verified.
std::function<int()> add_verify_command(CLI::App& app);

}  // namespace streambed::app
