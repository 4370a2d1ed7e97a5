// fleet_stats.hpp: what the fleet measures — per-group counters and histograms, per-bucket time
// series — written by one client thread each and merged once at the end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fleet/histogram.hpp"
#include "fleet/seq_tracker.hpp"

namespace streambed::fleet {

struct GroupTotals {
    std::uint64_t messages = 0;           // data messages received (duplicates included)
    std::uint64_t frames = 0;             // text frames after the welcome (a ?batch=1 array is one)
    std::uint64_t bytes = 0;              // their payload bytes (inflated)
    std::uint64_t polled = 0;             // of those, through the polling fallback
    std::uint64_t snapshots_ignored = 0;  // snapshots before a resume (the resume re-sends them)
    SeqCounts seqs;                       // summed over clients and streams
    // State seqs skipped by the server's conflation when they were skipped, whether or not a
    // resume brought them back later (seqs.conflated counts those never brought back).
    std::uint64_t conflated = 0;
    std::uint64_t resets = 0;      // `reset` messages
    std::uint64_t errors = 0;      // `error` messages
    std::uint64_t connects = 0;    // welcomes received
    std::uint64_t reconnects = 0;  // welcomes after a lost connection
    std::uint64_t refused = 0;     // upgrades refused with 503
    std::uint64_t failed = 0;      // attempts that failed before the welcome (503 included)
    std::uint64_t dead = 0;        // connections given up for silence past twice the heartbeat
    std::uint64_t lost = 0;        // welcomed connections lost, whatever the cause
    std::map<int, std::uint64_t> closes;  // close codes received from the server
    // Why attempts failed ("failed: …") and connections were lost ("dropped: …"), with counts.
    std::map<std::string, std::uint64_t> reasons;
    Histogram lateness_us;   // live messages only (wall µs after their due instant)
    Histogram reconnect_us;  // from losing a connection to the next welcome (wall µs)

    void merge(const GroupTotals& other);
    // What was counted since `earlier`, a copy of these totals taken before: a measured window.
    // The seq counts are not in it (they are computed once, at the end of the run).
    GroupTotals since(const GroupTotals& earlier) const;
};

// One point of the time series: a bucket of simulated time.
struct Bucket {
    std::uint64_t messages = 0;
    Histogram lateness_us;
};

struct FleetResult {
    std::vector<GroupTotals> groups;
    std::vector<Bucket> buckets;  // index = simulated time / bucket width
};

}  // namespace streambed::fleet
