// server_runner.hpp: what `serve` and `replay` share — the server's command-line options, and
// running a server with a source until SIGINT/SIGTERM.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "engine/options.hpp"
#include "engine/source.hpp"
#include "engine/tap.hpp"

namespace streambed::app {

struct ServerArgs {
    engine::ServerOptions options;
    // The durations as given (parsed by run_server); defaults as in engine/options.hpp.
    std::string heartbeat = "15s";
    std::string handshake_timeout = "10s";
    std::string drain_timeout = "2s";
    std::string coalesce_window = "2ms";
};

// Checks a time scale or speed option: a positive number or 'max' (what: "time scale", "speed").
CLI::Validator time_scale_validator(const std::string& what);

// --coalesce-window: a duration from 0ms to 100ms.
inline constexpr const char* kCoalesceWindowHelp =
    "under a steady rate, how long writes are held so that messages due close together leave "
    "in one write per connection; 0ms: never hold";
CLI::Validator coalesce_window_validator();

// --port, --bind, --threads, the limits of docs/robustness.md, --heartbeat, TLS, auth, origins
// and --web-root.
void add_server_options(CLI::App* cmd, ServerArgs& args);

// Sets the options' durations from the strings the command line gave (run_server does it).
void apply_durations(ServerArgs& args);

// The dashboard folder beside the running program (`dashboard/`), or "" when there is none.
std::string default_web_root();

// Starts the server (signals are caught first), starts the source, prints the listening line,
// waits for SIGINT/SIGTERM, then stops the source, closes clients with 1001 and returns 0.
// A bad option or a failure to start: one line on stderr prefixed by `command`, returns 2.
int run_server(const char* command, ServerArgs& args, engine::Source& source, engine::Tap* tap,
               const std::function<void()>& before_exit = {});

}  // namespace streambed::app
