// scenario_metrics.hpp: kMetrics, the one table of the figures a scenario's `expect` can check —
// each metric's kind (which fixes how its threshold is written and stored), where it may be
// used, and its meaning. The parser checks expectations against it, the runner computes what it
// names, and the metrics table of docs/scenarios.md is kept in step with it (a test checks).
#pragma once

#include <array>
#include <string_view>

namespace streambed::runner {

enum class MetricKind {
    ratio,     // a fraction 0 … 1; written "0.999" or "99.9%"
    count,     // a non-negative integer
    duration,  // written with ms, s or m; stored in milliseconds
    size,      // written with KB, MB, GB, KiB, MiB, GiB (or B); stored in MB (10^6 bytes)
    boolean,   // written true or false; stored as "== 1" or "== 0"
};

struct MetricInfo {
    std::string_view name;
    MetricKind kind;
    bool per_group;  // may name a group (else: the run as a whole, no `group`)
    bool needs_at;   // sampled at an instant: the expectation must give `at`
    std::string_view meaning;
    bool needs_cluster = false;  // measured on a cluster's nodes: the scenario needs `cluster`
};

inline constexpr std::array kMetrics{
    MetricInfo{"delivery_ratio", MetricKind::ratio, true, false,
               "messages received / messages that became due while the clients were subscribed"},
    MetricInfo{"messages", MetricKind::count, true, false, "data messages received"},
    MetricInfo{"polled", MetricKind::count, true, false,
               "data messages received through the polling fallback (`polling_fallback`)"},
    MetricInfo{"gaps", MetricKind::count, true, false,
               "seqs a client never received inside the span it was subscribed (after the "
               "end-of-run drain), "
               "not counting those declared by a `reset` or skipped by conflation"},
    MetricInfo{"duplicates", MetricKind::count, true, false,
               "data messages whose seq a client had already received"},
    MetricInfo{"conflated", MetricKind::count, true, false,
               "state seqs skipped by the server's conflation while the client was connected "
               "(counted when "
               "skipped, even if a later resume brought them back)"},
    MetricInfo{"resets", MetricKind::count, true, false, "`reset` messages received"},
    MetricInfo{"reconnects", MetricKind::count, true, false,
               "successful re-connections (a welcome after a lost one)"},
    MetricInfo{"refused", MetricKind::count, true, false, "upgrades refused with HTTP 503"},
    MetricInfo{"errors", MetricKind::count, true, false, "`error` messages received"},
    MetricInfo{"closes_1008", MetricKind::count, true, false,
               "connections closed by the server with 1008 (abuse)"},
    MetricInfo{"closes_1009", MetricKind::count, true, false,
               "connections closed by the server with 1009 (message too big)"},
    MetricInfo{"closes_1013", MetricKind::count, true, false,
               "connections closed by the server with 1013 (slow consumer)"},
    MetricInfo{
        "lateness_p50", MetricKind::duration, true, false,
        "median lateness: wall time from a message's due instant (by the welcome's clock) to its "
        "arrival, "
        "over messages that became due while subscribed (snapshots and resumed history excluded)"},
    MetricInfo{"lateness_p99", MetricKind::duration, true, false, "99th percentile of lateness"},
    MetricInfo{"lateness_p999", MetricKind::duration, true, false, "99.9th percentile of lateness"},
    MetricInfo{"lateness_max", MetricKind::duration, true, false, "largest lateness"},
    MetricInfo{"reconnect_p99", MetricKind::duration, true, false,
               "99th percentile of the wall time from losing a connection to the next welcome"},
    MetricInfo{"reconnect_max", MetricKind::duration, true, false,
               "longest wall time from losing a connection to the next welcome"},
    MetricInfo{"connected", MetricKind::count, true, true,
               "clients holding a welcomed connection at the instant `at` (simulated)"},
    MetricInfo{"connected_end", MetricKind::count, true, false,
               "clients holding a welcomed connection at the end of the run"},
    MetricInfo{"server_rss", MetricKind::size, false, false, "the server's peak resident memory"},
    MetricInfo{"recording_complete", MetricKind::boolean, false, false,
               "the recording (--record) holds every message published, with no gap"},
    MetricInfo{"failover_max", MetricKind::duration, false, false,
               "longest wall time from the loss of the source node (killed, stopped or cut off "
               "from Redis by the timeline) to another node reporting itself the source in "
               "`/q/health` (sampled every 100 ms)",
               true},
    MetricInfo{"nodes_down_seen", MetricKind::count, false, false,
               "nodes seen reporting Redis DOWN in `/q/health` at least once during the run "
               "(sampled every 100 ms)",
               true},
};

// The metric named `name`, or nullptr.
constexpr const MetricInfo* find_metric(std::string_view name) {
    for (const auto& m : kMetrics)
        if (m.name == name) return &m;
    return nullptr;
}

constexpr std::string_view kind_name(MetricKind kind) {
    switch (kind) {
        case MetricKind::ratio:
            return "ratio";
        case MetricKind::count:
            return "count";
        case MetricKind::duration:
            return "duration";
        case MetricKind::size:
            return "size";
        case MetricKind::boolean:
            return "bool";
    }
    return "?";
}

}  // namespace streambed::runner
