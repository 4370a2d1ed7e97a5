// scenario.hpp: a scenario file's content once checked — the model the runner executes. The
// file format (JSON with // comments, durations as "500ms") is in docs/scenarios.md; the
// parser (scenario_parse.hpp) turns a file into this, or into one error naming the problem.
//
// Time: every instant and duration of the timeline, of ramp-ups and of client behaviour is
// simulated time, compressed by the time scale like the world itself. Network figures
// (latency, jitter, bandwidth, read rates) and measured lateness are physical: wall time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fleet/client_group.hpp"

namespace streambed::runner {

using Millis = std::chrono::milliseconds;

// The client groups' model is the fleet's own (fleet/client_group.hpp).
using fleet::ClientGroup;
using fleet::Misbehaviour;
using fleet::Reading;
using fleet::Reconnect;

// A network impairment on the path of one group (or all), as the proxy applies it.
struct Impairment {
    enum class Direction { upstream, downstream, both };
    Direction direction = Direction::both;  // downstream: server to client
    Millis latency{0}, jitter{0};           // wall
    double bandwidth = 0;                   // bytes per wall second; 0: no cap
    bool stall = false;
    bool reset = false;
    std::size_t slice = 0;
    Millis slice_delay{0};
    std::uint64_t limit_data = 0;
    std::uint64_t drop_after_frames = 0;
    std::string hold_stream;
};

struct Event {
    enum class Kind {
        impair,          // add `impairment` (named `name`) to `group`'s path, for `duration` if > 0
        clear,           // remove the impairment `name` (every one when empty) from `group`'s path
        partition,       // `group` (all when empty) cut off for `duration`
        server_kill,     // SIGKILL; restarted after `down_for`
        server_restart,  // graceful (SIGTERM: close 1001); restarted after `down_for`
        churn,           // `fraction` of `group`'s clients unsubscribe and subscribe again
        join,            // `group` starts connecting (ramp-up from now)
        leave,           // `group`'s clients close and stop
        // A cluster's (docs/scenarios.md "cluster"): `node` names the node, kNodeSource the one
        // that is the source at that instant.
        node_kill,        // SIGKILL of `node`; started again after `down_for` (0: stays down)
        node_restart,     // `node` stopped gracefully (SIGTERM) and started after `down_for`
        redis_partition,  // `node` cut off from Redis for `duration` (a proxy's partition)
        redis_kill,       // SIGKILL of the Redis server; started again (empty) after `down_for`
    };
    static constexpr int kNodeSource = -1;
    Kind kind = Kind::impair;
    Millis at{0};
    std::string group;        // empty: every group (impair, clear, partition)
    std::string name;         // impair, clear
    Impairment impairment;    // impair
    Millis duration{0};       // impair (0: until cleared), partition (> 0)
    Millis down_for{0};       // server_kill, server_restart
    double fraction = 1.0;    // churn, 0 < f <= 1
    int node = 0;             // node_kill, node_restart, redis_partition: an index or kNodeSource
    bool stays_down = false;  // node_kill without `down_for`: down to the end of the run
};

// One checked figure: `metric` of `group` (empty: every group together) compared with
// `threshold` by `op`. Durations are given in ms, sizes in MB, ratios as fractions.
struct Expectation {
    enum class Op { lt, le, gt, ge, eq };
    std::string group;
    std::string metric;  // see kMetrics in scenario_metrics.hpp and docs/scenarios.md
    Op op = Op::le;
    double threshold = 0;
    std::optional<Millis> at;  // `connected` only: the instant it is sampled
    std::string text;          // as written, for the report ("< 100ms")
};

// Options of the server the runner starts (ignored with --target).
struct ServerSetup {
    std::size_t history = 1000;
    std::size_t outbound_limit = 1 << 20;
    std::size_t inbound_limit = 64 << 10;
    std::size_t max_connections = 0;
    Millis heartbeat{15000};  // wall, like the server's option
    bool deflate = false;
    unsigned threads = 0;         // 0: the server's default
    std::size_t send_buffer = 0;  // SO_SNDBUF per connection; 0: the kernel's autotuning
};

// A cluster instead of one server: a redis-server child and `nodes` `serve --redis` children,
// each reaching Redis through an impairment proxy of the runner's (so it can be cut off).
struct ClusterSetup {
    std::size_t nodes = 3;
    Millis lease_ttl{1000};  // wall, `serve --lease-ttl`: how long a dead source goes unnoticed
    // Simulated, `serve --checkpoint-every`: the most of the world a new source regenerates.
    Millis checkpoint_every{60'000};
};

struct Scenario {
    std::string name;
    std::string description;
    std::uint64_t seed = 42;
    Millis duration{60000};  // simulated
    double time_scale = 1;   // simulated ms per wall ms (> 0: a scenario's world is paced)
    ServerSetup server;
    std::optional<ClusterSetup> cluster;  // absent: one server
    std::string simulator_json = "{}";    // the simulator configuration object, checked
    std::vector<ClientGroup> groups;
    std::vector<Event> timeline;  // sorted by `at`
    std::vector<Expectation> expectations;
};

}  // namespace streambed::runner
