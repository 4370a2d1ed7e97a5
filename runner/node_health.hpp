// node_health.hpp: what a cluster node says of itself in `/q/health` — the source, a follower,
// or Redis DOWN with the reason — read over a plain socket with a short deadline, so a node that
// does not answer (killed, stopped) is "unreachable" rather than a wait.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace streambed::runner {

struct NodeHealth {
    enum class State { unreachable, source, follower, down };
    State state = State::unreachable;
    std::string reason;  // down: why (the node's words)
};

NodeHealth read_node_health(std::uint16_t port, std::chrono::milliseconds deadline);

const char* state_name(NodeHealth::State state);

}  // namespace streambed::runner
