// command_line.cpp: `streambed COMMAND [OPTIONS]` — parses the command line and runs one command.
// Bad options get one line naming the problem and exit status 2; so does anything a command
// throws that it did not answer itself.
#include "app/command_line.hpp"

#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <functional>
#include <utility>

#include "app/bench_command.hpp"
#include "app/proxy_command.hpp"
#include "app/recording_commands.hpp"
#include "app/replay_command.hpp"
#include "app/run_command.hpp"
#include "app/serve_command.hpp"
#include "app/verify_command.hpp"

namespace streambed::app {

int run_command_line(int argc, char** argv) {
    // A peer that went away (a client, Redis) is an error value of the write (EPIPE), never
    // the process's death: hiredis writes with write(2), which has no MSG_NOSIGNAL.
    std::signal(SIGPIPE, SIG_IGN);
    spdlog::set_default_logger(spdlog::stderr_color_mt("streambed"));
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug for more

    CLI::App app{"streambed: simulation and replay testbed for the portal's WebSocket protocol"};
    // At most one command; a missing one is reported below, so that an unknown command or
    // option is named by CLI11 rather than hidden behind "a command is required".
    app.require_subcommand(0, 1);
    app.set_version_flag("--version", "streambed 0.1.0");
    auto serve = add_serve_command(app);
    auto bench = add_bench_command(app);
    auto replay = add_replay_command(app);
    auto inspect = add_inspect_command(app);
    auto export_frames = add_export_command(app);
    auto verify = add_verify_command(app);
    auto run = add_run_command(app);
    auto proxy = add_proxy_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        fmt::print(stderr, "streambed: {}\n", e.what());
        return 2;
    }
    // Each command answers what it expects with its own line and status; anything else it
    // throws is still one line and status 2 (bad input), never an abort.
    auto guarded = [](const char* name, const std::function<int()>& command) {
        try {
            return command();
        } catch (const std::exception& e) {
            fmt::print(stderr, "streambed {}: {}\n", name, e.what());
        } catch (...) {
            fmt::print(stderr, "streambed {}: unexpected error\n", name);
        }
        return 2;
    };
    const std::pair<const char*, std::function<int()>> commands[] = {
        {"serve", serve},          {"bench", bench},   {"replay", replay}, {"inspect", inspect},
        {"export", export_frames}, {"verify", verify}, {"run", run},       {"proxy", proxy}};
    for (const auto& [name, command] : commands)
        if (app.got_subcommand(name)) return guarded(name, command);
    fmt::print(stderr,
               "streambed: a command is required: serve, run, replay, verify, bench, inspect, "
               "export or proxy (see --help)\n");
    return 2;
}

}  // namespace streambed::app
