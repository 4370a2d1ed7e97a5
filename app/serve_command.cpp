// serve_command.cpp: options of `serve`, wiring of server and source, the listening line.
#include "app/serve_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <optional>

#include "app/options_parse.hpp"
#include "engine/server.hpp"
#include "engine/signals.hpp"
#include "recorder/recorder.hpp"
#include "simulator/simulator_source.hpp"

namespace streambed::app {
namespace {

struct ServeArgs {
    engine::ServerOptions server;
    std::optional<std::uint64_t> seed;
    std::string time_scale = "1";
    std::string heartbeat = "15s";
    std::string record;
    std::string config;
};

CLI::Validator duration_validator() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            return parse_duration(s) ? "" : "'" + s + "' is not a duration (use e.g. 500ms, 2s, 1m)";
        },
        "DURATION");
}

}  // namespace

std::function<int()> add_serve_command(CLI::App& app) {
    auto args = std::make_shared<ServeArgs>();
    auto* cmd = app.add_subcommand("serve", "Run the WebSocket server with the simulator feeding it");
    auto& o = args->server;
    cmd->add_option("--port", o.port, "TCP port; 0 picks a free one")->capture_default_str();
    cmd->add_option("--bind", o.bind, "address to listen on")->capture_default_str();
    cmd->add_option("--threads", o.threads, "I/O threads (0: one per core)")->capture_default_str();
    cmd->add_option("--max-connections", o.max_connections, "WebSocket connections (0: no limit)")
        ->capture_default_str();
    cmd->add_option("--history", o.history, "messages kept per stream for resume and polling")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
        ->capture_default_str();
    cmd->add_option("--outbound-limit", o.outbound_limit_bytes, "bytes queued per connection before conflation, then close 1013")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 34))
        ->capture_default_str();
    cmd->add_option("--inbound-limit", o.inbound_limit_bytes, "largest client message in bytes (close 1009 beyond)")
        ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 30))
        ->capture_default_str();
    cmd->add_option("--heartbeat", args->heartbeat, "ping interval of idle connections; silent twice as long: closed")
        ->check(duration_validator())
        ->capture_default_str();
    cmd->add_flag("--deflate", o.deflate, "offer permessage-deflate");
    cmd->add_option("--tls-cert", o.tls_cert_file, "PEM certificate chain: serve https:// and wss://")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tls-key", o.tls_key_file, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
    cmd->add_option("--auth-token", o.auth_token, "require ?token=TOKEN or 'Authorization: Bearer TOKEN'");
    cmd->add_option("--allow-origin", o.allowed_origins, "allowed Origin (repeatable; default any)");
    cmd->add_option("--seed", args->seed, "simulation seed (default 42, or the configuration's)");
    cmd->add_option("--time-scale", args->time_scale, "simulated ms per wall ms, or 'max' for as fast as possible")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                return parse_time_scale(v) ? "" : "'" + v + "' is not a time scale: use a positive number or 'max'";
            },
            "X|max"))
        ->capture_default_str();
    cmd->add_option("--config", args->config, "simulator configuration FILE.json (see docs/simulator.md)");
    cmd->add_option("--record", args->record, "record every frame to FILE.db (a new run is appended)");

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
        args->server.heartbeat = *parse_duration(args->heartbeat);
        if (args->server.heartbeat.count() < 10) {
            fmt::print(stderr, "streambed serve: --heartbeat must be at least 10ms\n");
            return 2;
        }
        // Signals are caught before the listening line: a signal right after it is never fatal.
        engine::SignalWatcher signals;
        std::unique_ptr<recorder::Recorder> recording;
        if (!args->record.empty()) {
            try {
                recording = std::make_unique<recorder::Recorder>(
                    args->record, recorder::RunInfo{"streambed 0.1.0", sim.seed, simulator::to_json(sim)});
            } catch (const recorder::RecordingError& e) {
                fmt::print(stderr, "streambed serve: {}\n", e.what());
                return 2;
            }
        }
        engine::Server server(args->server);
        if (recording) server.set_tap(recording.get());
        try {
            server.start();
        } catch (const std::exception& e) {
            fmt::print(stderr, "streambed serve: {}\n", e.what());
            return 2;
        }
        simulator::SimulatorSource source(sim);
        source.start(server.publisher());  // every stream is declared when this returns
        fmt::print("listening on {}\n", server.url());
        std::fflush(stdout);
        signals.wait();
        spdlog::info("shutting down");
        source.stop();
        server.shutdown();
        if (recording) recording->finish();  // flushes everything still queued
        return 0;
    };
}

}  // namespace streambed::app
