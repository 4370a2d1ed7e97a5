// replay_command.cpp: options of `replay`; the server is the same as `serve`'s.
#include "app/replay_command.hpp"

#include <fmt/format.h>

#include <memory>

#include "app/options_parse.hpp"
#include "app/server_runner.hpp"
#include "recorder/replay_source.hpp"

namespace streambed::app {

std::function<int()> add_replay_command(CLI::App& app) {
    struct Args {
        ServerArgs server;
        recorder::ReplayOptions replay;
        std::string speed = "1";
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("replay",
                                   "Serve a recorded run's data streams through the same protocol");
    cmd->add_option("file", a->replay.path, "the recording (FILE.db)")->required();
    add_server_options(cmd, a->server);
    cmd->add_option("--speed", a->speed,
                    "recorded pacing times X, or 'max' for as fast as possible")
        ->check(time_scale_validator("speed"))
        ->capture_default_str();
    cmd->add_option("--run", a->replay.run, "the run to replay (default: the latest)");
    cmd->add_flag("--loop", a->replay.loop, "start over at the end (seqs keep increasing)");
    return [a] {
        a->replay.speed = *parse_time_scale(a->speed);
        std::unique_ptr<recorder::ReplaySource> source;
        try {
            source = std::make_unique<recorder::ReplaySource>(a->replay);
        } catch (const recorder::RecordingError& e) {
            fmt::print(stderr, "streambed replay: {}\n", e.what());
            return 2;
        }
        return run_server("replay", a->server, *source, nullptr);
    };
}

}  // namespace streambed::app
