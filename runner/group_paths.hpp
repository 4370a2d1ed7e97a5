// group_paths.hpp: where each client group connects — straight to the server (or to a cluster's
// nodes), or through impairment proxies of its own, one per upstream, when the timeline impairs
// or partitions it — and those paths as the fleet's routes.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "fleet/fleet.hpp"
#include "proxy/impairment_proxy.hpp"
#include "runner/run.hpp"
#include "runner/scenario.hpp"

namespace streambed::runner {

// proxies[group]: the group's proxies, one per upstream; empty when it connects straight.
using GroupProxies = std::vector<std::vector<std::unique_ptr<proxy::ImpairmentProxy>>>;

// A proxy per upstream in front of each group that an event impairs or partitions, started; the
// other groups connect straight (a proxy costs a copy of every byte, on the same 2 cores).
GroupProxies start_group_proxies(const Scenario& s, const std::vector<TargetAddress>& upstreams,
                                 std::uint64_t seed);

// Per group: its proxies, or else the upstreams themselves.
std::vector<std::vector<fleet::Address>> group_routes(const GroupProxies& proxies,
                                                      const std::vector<TargetAddress>& upstreams);

}  // namespace streambed::runner
