// run.hpp: running one scenario — a server child fed by the simulator (or an external target),
// an impairment proxy per client group in front of it, the fleet, the timeline played at its
// simulated instants, the end-of-run drain, then the expectations checked and the report made.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "runner/scenario.hpp"
#include "runner/server_handle.hpp"

namespace streambed::runner {

struct RunOptions {
    std::string scenario_file;  // as given on the command line (report, reproduce line)
    std::string program;        // the streambed binary: the server child runs `PROGRAM serve`
    std::optional<std::uint64_t> seed;  // --seed: overrides the file's
    std::string record;                 // --record FILE.db: the server records the whole run
    std::string target;                 // --target ws://HOST:PORT: drive an external server
    bool progress = false;              // a live progress line on stderr (a terminal)
    // Starts the server (and again after a kill or restart); empty: `program serve` as a child.
    ServerFactory start_server;
    bool in_process = false;   // start_server runs it in this process (the report says so)
    std::string redis_server;  // a cluster's Redis: this redis-server; empty: the one on PATH
};

// `run`'s exit status when a scenario cannot run here (a cluster without redis-server): ctest's
// SKIP_RETURN_CODE (tests/CMakeLists.txt), the automake convention.
inline constexpr int kSkippedExit = 77;

struct RunOutcome {
    int exit_code = 0;  // 0: every expectation held; 1: one failed (or the run could not be made)
    nlohmann::json report;  // the report of docs/scenarios.md ("Reading the report")
};

// Runs the scenario. Never throws: a run that cannot be made (the server does not start, a
// target does not resolve) ends with exit code 1 and the report's "error".
RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options);

// Parses ws://HOST:PORT (wss is refused: the fleet speaks plain TCP); nullopt when malformed.
struct TargetAddress {
    std::string host;
    std::uint16_t port = 0;
};
std::optional<TargetAddress> parse_target(const std::string& url);

}  // namespace streambed::runner
