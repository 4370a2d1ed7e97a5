// serve_command.cpp: options of `serve`, wiring of server and source, the listening line.
#include "app/serve_command.hpp"

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "app/options_parse.hpp"
#include "app/server_runner.hpp"
#include "recorder/recorder.hpp"
#include "simulator/flood_source.hpp"
#include "simulator/simulator_source.hpp"

namespace streambed::app {
namespace {

struct ServeArgs {
    ServerArgs server;
    std::optional<std::uint64_t> seed;
    std::string time_scale = "1";
    std::string record;
    std::string config;
    std::string flood;
};

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
    auto args = std::make_shared<ServeArgs>();
    auto* cmd = app.add_subcommand("serve", "Run the WebSocket server with the simulator feeding it");
    add_server_options(cmd, args->server);
    cmd->add_option("--seed", args->seed, "simulation seed (default 42, or the configuration's)");
    cmd->add_option("--time-scale", args->time_scale, "simulated ms per wall ms, or 'max' for as fast as possible")
        ->check(time_scale_validator("time scale"))
        ->capture_default_str();
    cmd->add_option("--config", args->config, "simulator configuration FILE.json (see docs/simulator.md)");
    cmd->add_option("--record", args->record, "record every frame to FILE.db (a new run is appended)");
    cmd->add_option("--flood", args->flood,
                    "benchmark source instead of the simulator: /ws/metrics messages at RATE per second, "
                    "or 'max' for as fast as the server delivers them")
        ->check(time_scale_validator("flood rate"));

    return [args] {
        simulator::SimConfig sim;
        try {
            if (!args->config.empty()) sim = simulator::load_config(args->config);
        } catch (const simulator::ConfigError& e) {
            fmt::print(stderr, "streambed serve: {}\n", e.what());
            return 2;
        }
        if (args->seed) sim.seed = *args->seed;
        sim.time_scale = *parse_time_scale(args->time_scale);
        std::unique_ptr<recorder::Recorder> recording;
        if (!args->record.empty()) {
            try {
                recording = std::make_unique<recorder::Recorder>(
                    args->record, recorder::RunInfo{"streambed 0.1.0", sim.seed, simulator::to_json(sim), sim.time_scale});
            } catch (const recorder::RecordingError& e) {
                fmt::print(stderr, "streambed serve: {}\n", e.what());
                return 2;
            }
        }
        std::unique_ptr<engine::Source> source;
        if (args->flood.empty()) {
            source = std::make_unique<simulator::SimulatorSource>(sim);
        } else {
            const double rate = *parse_time_scale(args->flood);
            source = std::make_unique<simulator::FloodSource>(sim, rate > 0 ? std::optional(rate) : std::nullopt);
        }
        return run_server("serve", args->server, *source, recording.get(), [&] {
            if (recording) recording->finish();  // flushes everything still queued
        });
    };
}

}  // namespace streambed::app
