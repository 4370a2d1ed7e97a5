// group_paths.cpp: the groups' proxies and routes.
#include "runner/group_paths.hpp"

namespace streambed::runner {

GroupProxies start_group_proxies(const Scenario& s, const std::vector<TargetAddress>& upstreams,
                                 std::uint64_t seed) {
    std::vector<bool> needs(s.groups.size(), false);
    for (const auto& e : s.timeline)
        if (e.kind == Event::Kind::impair || e.kind == Event::Kind::clear ||
            e.kind == Event::Kind::partition)
            for (std::size_t g = 0; g < s.groups.size(); ++g)
                if (e.group.empty() || s.groups[g].name == e.group) needs[g] = true;
    GroupProxies proxies(s.groups.size());
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        if (!needs[g]) continue;
        for (std::size_t k = 0; k < upstreams.size(); ++k) {  // one per node of a cluster
            proxy::ProxyOptions po;
            po.upstream_host = upstreams[k].host;
            po.upstream_port = upstreams[k].port;
            po.seed = seed ^ (0x9e3779b97f4a7c15ULL * (g + 1)) ^ k;
            // What a network path holds in flight, roughly: more would hide the server's own
            // bound.
            po.max_held_bytes = 256 << 10;
            proxies[g].push_back(std::make_unique<proxy::ImpairmentProxy>(po));
            proxies[g].back()->start();
        }
    }
    return proxies;
}

std::vector<std::vector<fleet::Address>> group_routes(const GroupProxies& proxies,
                                                      const std::vector<TargetAddress>& upstreams) {
    std::vector<std::vector<fleet::Address>> routes(proxies.size());
    for (std::size_t g = 0; g < proxies.size(); ++g) {
        for (const auto& p : proxies[g]) routes[g].push_back({"127.0.0.1", p->port()});
        if (proxies[g].empty())
            for (const auto& u : upstreams) routes[g].push_back({u.host, u.port});
    }
    return routes;
}

}  // namespace streambed::runner
