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

namespace streambed::runner {

using Millis = std::chrono::milliseconds;

// How a client reads its socket.
struct Reading {
    enum class Mode { normal, slow, pausing, never };
    Mode mode = Mode::normal;
    double bytes_per_second = 0;  // slow: the read rate (wall)
    Millis every{0};              // pausing: a pause starts this often (simulated) ...
    Millis pause{0};              // ... and lasts this long (simulated)
};

// Full-jitter exponential backoff between reconnect attempts: attempt k waits a uniform draw in
// [0, min(max, min_delay * 2^k)], never less than min_delay. The portal's policy (500 ms, 20 s).
struct Reconnect {
    bool enabled = true;
    Millis min{500};
    Millis max{20000};
};

// A client that does something wrong on purpose, beside good ones.
struct Misbehaviour {
    enum class Kind { none, malformed_json, flood, oversized };
    Kind kind = Kind::none;
    double per_second = 1;           // malformed_json, flood: messages per simulated second
    std::size_t bytes = 128 * 1024;  // oversized: the size of the message sent once connected
};

struct ClientGroup {
    std::string name;                           // [A-Za-z0-9_-]{1,32}, unique
    std::size_t clients = 1;                    // 1 .. 20000
    Millis ramp_up{0};                          // connections spread evenly over this
    std::string endpoint = "/ws/metrics";       // one of the six
    std::vector<std::string> subscribe;         // channels; empty on the auto-subscribed endpoints
    bool batch = false;                         // ?batch=1
    bool deflate = false;                       // offer permessage-deflate
    Reading reading;
    Reconnect reconnect;
    bool resume = true;                         // resubscribe with `since` (and the epoch)
    bool polling_fallback = false;              // poll /api/v11/poll/… while the upgrade fails
    Millis poll_interval{1000};
    Misbehaviour misbehave;
    bool starts_joined = true;                  // false when a `join` event names the group
};

// A network impairment on the path of one group (or all), as the proxy applies it.
struct Impairment {
    enum class Direction { upstream, downstream, both };
    Direction direction = Direction::both;      // downstream: server to client
    Millis latency{0}, jitter{0};               // wall
    double bandwidth = 0;                       // bytes per wall second; 0: no cap
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
    };
    Kind kind = Kind::impair;
    Millis at{0};
    std::string group;       // empty: every group (impair, clear, partition)
    std::string name;        // impair, clear
    Impairment impairment;   // impair
    Millis duration{0};      // impair (0: until cleared), partition (> 0)
    Millis down_for{0};      // server_kill, server_restart
    double fraction = 1.0;   // churn, 0 < f <= 1
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
    Millis heartbeat{15000};   // wall, like the server's option
    bool deflate = false;
    unsigned threads = 0;      // 0: the server's default
};

struct Scenario {
    std::string name;
    std::string description;
    std::uint64_t seed = 42;
    Millis duration{60000};    // simulated
    double time_scale = 1;     // simulated ms per wall ms; 0: 'max'
    ServerSetup server;
    std::string simulator_json = "{}";  // the simulator configuration object, checked
    std::vector<ClientGroup> groups;
    std::vector<Event> timeline;        // sorted by `at`
    std::vector<Expectation> expectations;
};

}  // namespace streambed::runner
