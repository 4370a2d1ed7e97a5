// fleet.hpp: thousands of WebSocket clients in one process, in groups, on raw sockets — each
// tracking every stream it reads by seq (gaps, duplicates, resets), timing lateness against the
// welcome's clock, reconnecting with backoff and resuming with `since`, falling back to polling.
// The scenario runner drives it (join, leave, churn) and reads its counts; the numbers are kept
// in histograms and counters, never in lists of samples.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fleet/client_group.hpp"
#include "fleet/fleet_stats.hpp"

namespace streambed::fleet {

// Where a group's clients connect (the server, or the impairment proxy in front of it).
struct Address {
    std::string host = "127.0.0.1";  // a name or an address: resolved by start()
    std::uint16_t port = 0;
    bool tls = false;  // wss:// (and https:// polls): TLS over the TCP connection, `host` verified
};

// TLS for the targets that ask for it (fleet/tls.hpp).
struct TlsSettings {
    std::string ca_file;  // PEM certificates trusted beside the system's store
    bool verify = true;   // false: any certificate is accepted (self-signed test servers)
};

struct FleetOptions {
    std::uint64_t seed = 42;  // backoff draws and frame masks: the same seed, the same schedule
    double time_scale = 1;  // simulated ms per wall ms; 0 ('max') is taken as 1 for client timings
    // Client threads: on 2 cores shared with a server, 2 halves what the fleet adds to lateness.
    unsigned threads = 2;
    Millis bucket{1000};  // simulated width of one point of the time series
    // An upgrade that has not completed by then (wall) failed: a partition or a dead server.
    Millis connect_timeout{2000};
    // Connections opened at once per thread: a burst of 10,000 SYNs overflows the listen backlog.
    std::size_t connect_concurrency = 256;
    std::string token;   // ?token= on every upgrade and poll, when set
    std::string origin;  // the Origin header of every upgrade, when set (a server's --allow-origin)
    TlsSettings tls;
};

// (endpoint, channel) -> the stream's newest seq at the end of the run.
using FinalSeqs = std::map<std::pair<std::string, std::string>, std::uint64_t>;

class Fleet {
  public:
    Fleet(FleetOptions options, std::vector<ClientGroup> groups, std::vector<Address> targets);
    // Several servers per group (a cluster's nodes, the same list for every group, or proxies in
    // front of them): a client starts on the group's `node`, or, when it is -1, round-robin
    // across the run (the k-th client of the unpinned groups on server k mod N); it moves to the
    // next server after each lost connection or failed attempt.
    Fleet(FleetOptions options, std::vector<ClientGroup> groups,
          std::vector<std::vector<Address>> routes);
    ~Fleet();
    Fleet(const Fleet&) = delete;
    Fleet& operator=(const Fleet&) = delete;

    // Starts the threads; the groups that start joined begin their ramp-up now. Resolves the
    // targets first (throws std::runtime_error naming one that does not resolve), and makes the
    // TLS context when a target asks for TLS (throws naming a CA file that cannot be read).
    void start();

    // Timeline controls, from any thread; they take effect on the clients' threads.
    void join(std::size_t group);
    void leave(std::size_t group);
    void churn(std::size_t group, double fraction);
    // Drops every open connection of the group at once (as a network reset would).
    void drop(std::size_t group);

    std::size_t connected(std::size_t group) const;  // clients holding a welcomed connection
    std::size_t connected() const;

    // True when every client of the run (joined, not left, not a slow or never reader, behaving) is
    // connected and has received each final seq of the streams it subscribes to: the end-of-run
    // drain waits on it.
    bool caught_up(const FinalSeqs& finals);

    // Closes every client (close 1000) and joins the threads. Idempotent.
    void stop();

    // After stop(): the per-group totals with the spans closed at `finals`, and the series.
    FleetResult result(const FinalSeqs& finals);

    // While running: every group's totals so far (seq counts excluded), taken on the clients'
    // threads. Two of them bracket a measured window (GroupTotals::since).
    std::vector<GroupTotals> totals();

    // For a progress line: data messages received so far, and the p99 lateness (µs) of the
    // current time bucket (0 when it has no sample yet). Asks every thread; cheap.
    struct Live {
        std::uint64_t messages = 0;
        std::int64_t p99_us = 0;
    };
    Live live();

    // Simulated ms since start(), from the wall clock and the time scale.
    std::int64_t sim_elapsed_ms() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace streambed::fleet
