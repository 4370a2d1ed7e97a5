// client_group.hpp: what a group of fleet clients does — where it connects, what it reads and
// how, how it reconnects and resumes, and whether it misbehaves on purpose. The scenario file's
// `groups` entries parse into these (docs/scenarios.md).
//
// Time: ramp-up, backoff, pauses and poll intervals are simulated time, compressed by the
// fleet's time scale like the world itself; read rates are physical (bytes per wall second).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace streambed::fleet {

using Millis = std::chrono::milliseconds;

// How a client reads its socket.
struct Reading {
    enum class Mode { normal, slow, pausing, never };
    Mode mode = Mode::normal;
    double bytes_per_second = 0;  // slow: the read rate (wall)
    Millis every{0};              // pausing: a pause starts this often (simulated) ...
    Millis pause{0};              // ... and lasts this long (simulated)
};

// Full-jitter exponential backoff: after k failed attempts in a row (k = 0 when a live
// connection was lost) a client waits a uniform draw in [min, min(max, min * 2^(k+1))], so a
// crowd dropped at once comes back spread out. The portal's policy: 500 ms to 20 s.
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
    std::size_t bytes = 128 * 1024;  // oversized: one message this large once connected
};

struct ClientGroup {
    std::string name;                      // [A-Za-z0-9_-]{1,32}, unique
    std::size_t clients = 1;               // 1 .. 20000
    Millis ramp_up{0};                     // connections spread evenly over this
    std::string endpoint = "/ws/metrics";  // one of the six
    std::vector<std::string> subscribe;  // channels; empty on the endpoints that subscribe on open
    bool batch = false;                  // ?batch=1
    bool deflate = false;                // offer permessage-deflate
    Reading reading;
    Reconnect reconnect;
    bool resume = true;             // resubscribe with `since` and the epoch
    bool polling_fallback = false;  // poll /api/v11/poll/… once refused (503) or after two failures
    Millis poll_interval{1000};
    Misbehaviour misbehave;
    bool starts_joined = true;  // false when a `join` event names the group
    // With several servers (a cluster's nodes): the one every client starts on; -1: the clients
    // are spread round-robin. Either way a client that loses its node moves to the next one.
    int node = -1;
};

}  // namespace streambed::fleet
