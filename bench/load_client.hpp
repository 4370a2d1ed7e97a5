// load_client.hpp: the load side of `streambed bench` — N WebSocket clients on loopback that
// measure what they receive: messages, gaps, and lateness against the instant the welcome's
// clock says each message was due.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace streambed::bench {

struct LoadOptions {
    std::string host = "127.0.0.1";  // an IP address (v4 or v6): the caller resolves names
    std::uint16_t port = 9003;
    std::string endpoint = "/ws/metrics";
    std::size_t clients = 1000;
    std::chrono::milliseconds duration{10000};  // measured window, after everyone is connected
    std::vector<std::string> subscribe;          // sent on open when not empty, e.g. {"*"}
    bool batch = false;
    bool deflate = false;
    // Connections opened at once: a burst of 10,000 SYNs overflows the listen backlog.
    std::size_t connect_concurrency = 256;
    // Client threads. On a 2-core machine shared with the server, 2 halves the time the load
    // side itself adds to lateness when a message reaches every client at once.
    unsigned threads = 2;
};

// Lateness samples in microseconds, summarized on demand.
struct Lateness {
    std::vector<std::int64_t> samples_us;
    double percentile_ms(double p);
};

struct LoadResult {
    std::size_t connected = 0;
    std::size_t failed = 0;
    std::uint64_t messages = 0;  // data messages received inside the window
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;     // payload bytes of those frames
    std::uint64_t gaps = 0;      // seqs skipped (missed) inside the window, all clients
    std::uint64_t closed_early = 0;  // connections the server closed during the window
    std::uint64_t dropped = 0;       // connections closed or lost after their welcome, any time
    // Why connections failed ("failed: …") or were dropped ("dropped: …"), with their counts.
    std::map<std::string, std::size_t> reasons;
    double window_s = 0;
    double client_cpu_s = 0;     // this process's CPU during the window
    Lateness lateness;
};

// Phases, for the caller to sample the server: after connecting everyone, and at the end.
enum class Phase { connected, measured };

LoadResult run_load(const LoadOptions& options, const std::function<void(Phase)>& on_phase);

}  // namespace streambed::bench
