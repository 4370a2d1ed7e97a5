// serve_command.cpp: options of `serve`, wiring of server and source, the listening line.
#include "app/serve_command.hpp"

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <optional>

#include "app/options_parse.hpp"
#include "app/server_runner.hpp"
#include "cluster/cluster_node.hpp"
#include "engine/clock.hpp"
#include "recorder/recorder.hpp"
#include "simulator/flood_source.hpp"
#include "simulator/simulator_source.hpp"

namespace streambed::app {
namespace {

// A Unix time in ms: digits only (no sign, no fraction, no unit).
std::optional<std::int64_t> parse_unix_ms(const std::string& text) {
    if (text.empty() || text.size() > 15 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::stoll(text);
}

// A cluster's name becomes a Redis hash tag: no braces, nothing a shell or a log would mangle.
bool valid_cluster_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 &&
           name.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
               std::string::npos;
}

// A duration option from `lo` to `hi` (`range` says so in the error).
CLI::Validator duration_between(std::string option, std::chrono::milliseconds lo,
                                std::chrono::milliseconds hi, std::string range) {
    return CLI::Validator(
        [=](std::string& v) -> std::string {
            auto d = parse_duration(v);
            if (!d) return "'" + v + "' is not a duration (use e.g. 500ms, 2s, 1m)";
            return *d >= lo && *d <= hi ? "" : option + " must be " + range + ", not " + v;
        },
        "DURATION");
}

// serve --redis: the simulator runs inside a cluster node (cluster/), not on its own.
std::unique_ptr<engine::Source> cluster_source(const ServeArgs& args,
                                               const simulator::SimConfig& sim,
                                               std::string& error) {
    if (!args.flood.empty()) {
        error = "--flood is not deterministic, so it cannot be shared by a cluster (--redis)";
        return nullptr;
    }
    if (sim.time_scale <= 0) {
        error = "a cluster (--redis) needs a paced --time-scale, not 'max'";
        return nullptr;
    }
    if (!valid_cluster_name(args.cluster)) {
        error = "--cluster '" + args.cluster + "' is not a name: 1 to 64 of [A-Za-z0-9_.-]";
        return nullptr;
    }
    cluster::ClusterOptions options;
    auto address = cluster::parse_redis_url(args.redis, error);
    if (!address) return nullptr;
    options.redis = *address;
    options.name = args.cluster;
    options.lease_ttl = *parse_duration(args.lease_ttl);
    options.checkpoint_every = *parse_duration(args.checkpoint_every);
    options.history = args.server.options.history;
    return std::make_unique<cluster::ClusterNode>(options, sim);
}

}  // namespace

void add_serve_options(CLI::App* cmd, ServeArgs& a) {
    auto* args = &a;  // as the lambdas below see it
    add_server_options(cmd, args->server);
    cmd->add_option("--seed", args->seed, "simulation seed (default 42, or the configuration's)");
    cmd->add_option("--time-scale", args->time_scale,
                    "simulated ms per wall ms, or 'max' for as fast as possible")
        ->check(time_scale_validator("time scale"))
        ->capture_default_str();
    cmd->add_option("--config", args->config,
                    "simulator configuration FILE.json (see docs/simulator.md)");
    cmd->add_option("--record", args->record,
                    "record every frame to FILE.db (a new run is appended)");
    cmd->add_option(
           "--flood", args->flood,
           "benchmark source instead of the simulator: /ws/metrics messages at RATE per second, "
           "or 'max' for as fast as the server delivers them")
        ->check(time_scale_validator("flood rate"));
    cmd->add_option(
           "--clock-start", args->clock_start,
           "Unix ms at which the simulation's epoch was due: continue that world (catch up to now, "
           "then pace), e.g. after a restart")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                return parse_unix_ms(v)
                           ? ""
                           : "'" + v + "' is not a Unix time in ms (a non-negative integer)";
            },
            "UNIX_MS"));
    cmd->add_option(
           "--stop-after", args->stop_after,
           "simulated duration after the epoch at which the simulator stops publishing (the server "
           "keeps serving)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
                return parse_duration(v) ? ""
                                         : "'" + v + "' is not a duration (use e.g. 500ms, 2s, 1m)";
            },
            "DURATION"));
    cmd->add_option("--redis", args->redis,
                    "redis://HOST:PORT[/DB], or unix:///PATH[?db=DB] for a Redis on this machine: "
                    "join a cluster of nodes sharing streams through Redis (docs/scale-out.md)");
    cmd->add_option("--cluster", args->cluster,
                    "the cluster's name with --redis: the prefix of its Redis keys")
        ->capture_default_str();
    cmd->add_option(
           "--lease-ttl", args->lease_ttl,
           "with --redis: the source lease's expiry, the longest a dead source goes unnoticed")
        ->check(duration_between("--lease-ttl", std::chrono::milliseconds(30),
                                 std::chrono::minutes(10), "from 30ms to 10m"))
        ->capture_default_str();
    cmd->add_option("--checkpoint-every", args->checkpoint_every,
                    "with --redis: simulated time between two checkpoints of the world in Redis, "
                    "the most a new source regenerates")
        ->check(duration_between("--checkpoint-every", std::chrono::seconds(1),
                                 std::chrono::hours(24), "from 1s to 1440m (a day)"))
        ->capture_default_str();
}

std::optional<ServeParts> prepare_serve(ServeArgs& a, std::string& error) {
    auto* args = &a;
    ServeParts parts;
    auto& sim = parts.sim;
    try {
        if (!args->config.empty()) sim = simulator::load_config(args->config);
    } catch (const simulator::ConfigError& e) {
        error = e.what();
        return std::nullopt;
    }
    if (args->seed) sim.seed = *args->seed;
    sim.time_scale = *parse_time_scale(args->time_scale);
    if (!args->stop_after.empty()) sim.stop_after_ms = parse_duration(args->stop_after)->count();
    if (!args->clock_start.empty()) sim.clock_start_ms = parse_unix_ms(args->clock_start);
    if (!args->flood.empty() && (sim.clock_start_ms || sim.stop_after_ms >= 0)) {
        error = "--clock-start and --stop-after pace the simulator, not --flood";
        return std::nullopt;
    }
    try {
        simulator::validate_clock_start(sim, engine::wall_now_us() / 1000);
    } catch (const simulator::ConfigError& e) {
        error = e.what();
        return std::nullopt;
    }
    if (!args->record.empty()) {
        try {
            parts.recording = std::make_unique<recorder::Recorder>(
                args->record, recorder::RunInfo{"streambed 0.1.0", sim.seed,
                                                simulator::to_json(sim), sim.time_scale});
        } catch (const recorder::RecordingError& e) {
            error = e.what();
            return std::nullopt;
        }
    }
    if (!args->redis.empty()) {
        parts.source = cluster_source(*args, sim, error);
        if (!parts.source) return std::nullopt;
    } else if (args->flood.empty()) {
        parts.source = std::make_unique<simulator::SimulatorSource>(sim);
    } else {
        const double rate = *parse_time_scale(args->flood);
        parts.source = std::make_unique<simulator::FloodSource>(
            sim, rate > 0 ? std::optional(rate) : std::nullopt);
    }
    return parts;
}

std::function<int()> add_serve_command(CLI::App& app) {
    auto args = std::make_shared<ServeArgs>();
    add_serve_options(
        app.add_subcommand("serve", "Run the WebSocket server with the simulator feeding it"),
        *args);
    return [args] {
        std::string error;
        auto parts = prepare_serve(*args, error);
        if (!parts) {
            fmt::print(stderr, "streambed serve: {}\n", error);
            return 2;
        }
        return run_server("serve", args->server, *parts->source, parts->recording.get(), [&] {
            if (parts->recording) parts->recording->finish();  // flushes everything still queued
        });
    };
}

}  // namespace streambed::app
