// server_setup.hpp: what the runner says to the server and reads back from it — the `serve`
// arguments of a scenario (the same on every restart, so a restarted server continues the same
// world), the impairments as the proxy takes them, the streams' final seqs read through the
// polling API, and whether the recording holds the whole run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleet/fleet.hpp"
#include "proxy/impairment.hpp"
#include "runner/run.hpp"
#include "runner/scenario.hpp"

namespace streambed::runner {

struct ServerArguments {
    std::vector<std::string> args;  // after `serve --port N`
};

// Writes the simulator configuration to a temporary file (its path into `config_file`) and
// returns the arguments: seed, time scale, the clock start pinned to `clock_start_ms` (so a
// restart continues the same world), the stop after the scenario's duration, the server options.
ServerArguments server_arguments(const Scenario& s, std::uint64_t seed, std::int64_t clock_start_ms,
                                 const std::string& record, std::string& config_file);

proxy::Impairment to_proxy_impairment(const Event& e);

// (endpoint, channel) -> newest seq, for every endpoint the groups read, from
// GET /api/v11/poll/{endpoint}; read until two reads agree (the source has stopped) or 2 s.
// Throws std::runtime_error when the server does not answer.
fleet::FinalSeqs final_seqs(const TargetAddress& server, const Scenario& s);

// Every run the recording gained is complete with nothing dropped, and it holds at least as many
// delivered frames as the fleet received data messages on the WebSocket.
bool recording_complete(const std::string& path, const fleet::FleetResult& result);

}  // namespace streambed::runner
