// run_report.hpp: a run's report as data (docs/scenarios.md, "Reading the report"): the verdict
// per expectation, per-group figures, the timeline's windows and the time series; and the
// summary a person reads on the terminal, ending with the line that reproduces the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fleet/fleet_stats.hpp"
#include "runner/run.hpp"
#include "runner/scenario.hpp"
#include "runner/verdict.hpp"

namespace streambed::runner {

// A span of the timeline the charts shade (an impairment, a partition, a server down); zero
// length for instant events (churn, join, leave).
struct Window {
    std::int64_t at_ms, until_ms;
    std::string kind, group, label;
};

struct ReportInput {
    const Scenario& scenario;
    const RunOptions& options;
    std::uint64_t seed;
    std::chrono::system_clock::time_point started;
    double wall_seconds;
    const fleet::FleetResult& result;
    const Measured& measured;
    const std::vector<Window>& windows;
    const std::vector<double>& connected_series;
    std::int64_t bucket_ms;
    std::string error;  // the run could not be made: why
};

nlohmann::json make_report(const ReportInput& in);

// The command that runs this scenario again with the same seed (and target).
std::string reproduce_line(const RunOptions& options, std::uint64_t seed);

// The live progress line on a terminal ("\r[  12.0s / 60s] connected 14  310 msg/s  p99 4.2 ms
// active: partition dash"): the windows in force at `sim_ms` are named.
std::string progress_line(std::int64_t sim_ms, std::int64_t duration_ms, std::size_t connected,
                          double msgs_per_s, std::int64_t p99_us,
                          const std::vector<Window>& windows);

// What the terminal shows at the end: each expectation with its value, then the verdict and,
// on failure, the reproduce line.
std::string summary_text(const nlohmann::json& report);

}  // namespace streambed::runner
