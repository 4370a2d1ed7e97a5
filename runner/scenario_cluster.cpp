// scenario_cluster.cpp: the `cluster` section of a scenario file (nodes and a Redis instead of
// one server), a group's `node`, the node of the cluster's timeline events, and the checks
// between those events (a node killed while down, Redis killed twice, every node down at the
// end). Part of the scenario parser (scenario_parse.cpp).
#include <fmt/format.h>

#include <map>

#include "runner/scenario_reader.hpp"
#include "runner/scenario_values.hpp"

namespace streambed::runner::detail {
namespace {

// A cluster's nodes share the run's two cores with the fleet: more would measure the machine.
constexpr std::int64_t kMaxNodes = 16;

std::string when(Millis at) {
    return format_duration(at);
}

}  // namespace

void parse_cluster(const Value& value, Scenario& s) {
    const Object o(value, {"nodes", "lease_ttl", "checkpoint_every"});
    ClusterSetup c;
    if (auto v = o.get("nodes")) c.nodes = static_cast<std::size_t>(v->integer(1, kMaxNodes));
    // The ranges of `serve --lease-ttl` and `--checkpoint-every` (app/serve_command.cpp).
    if (auto v = o.get("lease_ttl")) c.lease_ttl = v->duration(Millis(30), Millis(600'000));
    if (auto v = o.get("checkpoint_every"))
        c.checkpoint_every = v->duration(Millis(1000), Millis(86'400'000));
    s.cluster = c;
}

int parse_node(const Value& value, const Scenario& s, bool source_allowed) {
    if (!s.cluster)
        value.fail(
            "only with a 'cluster' section: names one of its nodes (\"cluster\": "
            "{\"nodes\": 3})");
    const auto last = static_cast<std::int64_t>(s.cluster->nodes) - 1;
    if (value.json().is_string() && source_allowed) {
        if (value.json().get<std::string>() == "source") return Event::kNodeSource;
        value.fail(fmt::format("expected a node index from 0 to {} or \"source\", not {}", last,
                               value.describe()));
    }
    if (!value.json().is_number_integer() && source_allowed)
        value.fail(fmt::format("expected a node index from 0 to {} or \"source\", not {}", last,
                               value.describe()));
    return static_cast<int>(value.integer(0, last));
}

bool is_cluster_event(Event::Kind kind) {
    return kind == Event::Kind::node_kill || kind == Event::Kind::node_restart ||
           kind == Event::Kind::redis_partition || kind == Event::Kind::redis_kill;
}

void check_cluster_sequence(const std::vector<IndexedEvent>& events, const Scenario& s) {
    if (!s.cluster) return;
    struct Down {
        Millis from, until;
        bool forever;
        std::size_t index;
    };
    std::map<int, Down> node_down, partitioned;
    std::optional<Down> redis_down;
    auto until_text = [](const Down& d) {
        return d.forever ? std::string("to the end of the run") : "until " + when(d.until);
    };
    auto is_down = [](const std::optional<Down>& d, Millis at) {
        return d && (d->forever || at < d->until);
    };
    // A start at `at` inside the window, its ends included: actions at one instant run in the
    // file's order, so a node started when Redis comes back may start before it.
    auto within = [](const std::optional<Down>& d, Millis at) {
        return d && d->from <= at && (d->forever || at <= d->until);
    };
    auto find = [](const std::map<int, Down>& m, int node) -> std::optional<Down> {
        const auto it = m.find(node);
        if (it == m.end()) return std::nullopt;
        return it->second;
    };
    for (const auto& [e, index] : events) {
        const std::string where = fmt::format("timeline[{}]", index);
        const Millis end = e->at + e->down_for;
        if (e->kind == Event::Kind::redis_kill) {
            if (is_down(redis_down, e->at))
                fail_at(where,
                        fmt::format("at {}, while Redis is down (timeline[{}] keeps it down "
                                    "{})",
                                    when(e->at), redis_down->index, until_text(*redis_down)));
            redis_down = Down{e->at, end, false, index};
            for (const auto& [node, d] : node_down)
                if (!d.forever && within(redis_down, d.until))
                    fail_at(fmt::format("timeline[{}]", d.index),
                            fmt::format("node {} starts again at {}, while Redis is down "
                                        "(timeline[{}]): a node joins its cluster through Redis",
                                        node, when(d.until), index));
            continue;
        }
        if (e->node == Event::kNodeSource) continue;  // which node that is, only the run knows
        if (e->kind == Event::Kind::redis_partition) {
            const auto p = find(partitioned, e->node);
            if (is_down(p, e->at))
                fail_at(where, fmt::format("at {}, while node {} is already cut off from Redis "
                                           "(timeline[{}], {})",
                                           when(e->at), e->node, p->index, until_text(*p)));
            partitioned[e->node] = Down{e->at, e->at + e->duration, false, index};
            continue;
        }
        const auto d = find(node_down, e->node);
        if (is_down(d, e->at))
            fail_at(where, fmt::format("at {}, while node {} is down (timeline[{}] keeps it down "
                                       "{})",
                                       when(e->at), e->node, d->index, until_text(*d)));
        const bool forever = e->kind == Event::Kind::node_kill && e->stays_down;
        node_down[e->node] = Down{e->at, end, forever, index};
        if (!forever && within(redis_down, end))
            fail_at(where, fmt::format("node {} starts again at {}, while Redis is down "
                                       "(timeline[{}]): a node joins its cluster through Redis",
                                       e->node, when(end), redis_down->index));
        const auto p = find(partitioned, e->node);
        if (!forever && within(p, end))
            fail_at(where, fmt::format("node {} starts again at {}, while it is cut off from "
                                       "Redis (timeline[{}]): a node joins its cluster through "
                                       "Redis",
                                       e->node, when(end), p->index));
    }
    std::size_t down_at_end = 0;
    for (const auto& [node, d] : node_down)
        if (d.forever) ++down_at_end;
    if (down_at_end == s.cluster->nodes)
        fail_at("timeline", fmt::format("every node of the cluster is down at the end of the run "
                                        "(the {} node_kill events without 'down_for'): the end "
                                        "reads the streams' final seqs from a live node",
                                        down_at_end));
}

}  // namespace streambed::runner::detail
