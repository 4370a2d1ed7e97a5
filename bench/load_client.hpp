// load_client.hpp: the load side of `streambed bench` — the fleet (fleet/) with one group of N
// clients that do not reconnect, and a measured window bracketed by two readings of its totals:
// messages, gaps, and lateness against the instant the welcome's clock says each was due.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fleet/fleet.hpp"

namespace streambed::bench {

struct LoadOptions {
    std::string host = "127.0.0.1";  // a name or an address: the fleet resolves it
    std::uint16_t port = 9003;
    // Several servers (a cluster's nodes, host:port among them): the clients are spread over them
    // round-robin. Empty: host:port alone.
    std::vector<fleet::Address> nodes;
    std::string endpoint = "/ws/metrics";
    std::size_t clients = 1000;
    std::chrono::milliseconds duration{10000};  // measured window, after everyone is connected
    // When set, the window ends as soon as this holds of what it counted so far (duration is
    // then the deadline): a fixed amount of work instead of a fixed time.
    std::function<bool(const fleet::GroupTotals& window)> until;
    std::vector<std::string> subscribe;  // sent on open when not empty, e.g. {"*"}
    bool batch = false;
    bool deflate = false;
    std::string token;   // ?token= on every upgrade, when set
    std::string origin;  // the Origin header of every upgrade, when set
    // wss://: TLS over every connection, the certificate checked as `tls_settings` say.
    bool tls = false;
    fleet::TlsSettings tls_settings;
    // Connections opened at once per thread: a burst of 10,000 SYNs overflows the listen backlog.
    std::size_t connect_concurrency = 256;
    // An upgrade not welcomed by then failed: generous, 10,000 handshakes queue behind each other.
    std::chrono::milliseconds connect_timeout{30000};
    // Client threads. On a 2-core machine shared with the server, 2 halves the time the load
    // side itself adds to lateness when a message reaches every client at once.
    unsigned threads = 2;
};

struct LoadResult {
    std::size_t connected = 0;
    std::size_t failed = 0;
    std::uint64_t messages = 0;  // data messages received inside the window
    std::uint64_t frames = 0;
    std::uint64_t bytes = 0;  // payload bytes of those frames
    // From each client's first message to its last, the whole run: seqs never received, and
    // state seqs the server conflated for a slow reader.
    std::uint64_t gaps = 0;
    std::uint64_t conflated = 0;
    std::uint64_t duplicates = 0;
    double delivery_ratio = 1;       // distinct seqs received over those owed
    std::uint64_t closed_early = 0;  // connections the server closed during the window
    std::uint64_t dropped = 0;       // connections closed or lost after their welcome, any time
    // Why connections failed ("failed: …") or were dropped ("dropped: …"), with their counts.
    std::map<std::string, std::uint64_t> reasons;
    double window_s = 0;
    double client_cpu_s = 0;       // this process's CPU during the window
    fleet::Histogram lateness_us;  // live messages inside the window
};

// Phases, for the caller to sample the server: after connecting everyone, and at the end.
enum class Phase { connected, measured };

// Throws std::runtime_error when the host does not resolve or the CA file cannot be read.
LoadResult run_load(const LoadOptions& options, const std::function<void(Phase)>& on_phase);

double ms(std::int64_t us);  // a histogram's µs as milliseconds, for reports

}  // namespace streambed::bench
