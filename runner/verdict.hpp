// verdict.hpp: from what was measured to the verdict — each expectation's metric computed for
// its group (or every group together), compared with its threshold, and marked pass, fail or
// skipped (with the reason, e.g. a server figure against an external target).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fleet/fleet_stats.hpp"
#include "runner/scenario.hpp"

namespace streambed::runner {

// What the run measured besides the fleet's totals.
struct Measured {
    std::vector<fleet::GroupTotals> groups;
    // connected[group][instant ms] sampled at the expectations' `at` instants and at the end.
    std::vector<std::map<std::int64_t, std::size_t>> connected_at;
    std::vector<std::size_t> connected_end;
    std::optional<double> server_rss_mb;     // nullopt: no server process of ours
    std::optional<bool> recording_complete;  // nullopt: nothing recorded
    std::string server_skip_reason;          // why server figures are missing
    double client_cpu_s = 0;                 // the runner's own CPU: fleet and proxies
    std::string recording_skip_reason;
    // A cluster's (cluster_run.hpp): nullopt failover when no source node was lost and replaced.
    std::optional<double> failover_max_ms;
    std::size_t nodes_down_seen = 0;
};

struct Verdict {
    bool pass = true;
    nlohmann::json expectations = nlohmann::json::array();  // one object per expectation
};

Verdict judge(const Scenario& scenario, const Measured& measured);

// The per-group summary of the report (groups[] of docs/scenarios.md).
nlohmann::json group_summary(const fleet::ClientGroup& group, const fleet::GroupTotals& totals,
                             std::size_t connected_end);

}  // namespace streambed::runner
