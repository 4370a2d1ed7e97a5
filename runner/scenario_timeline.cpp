// scenario_timeline.cpp: the `timeline` (impairments and server events, checked against the
// duration, the groups and each other, then sorted by `at`) and the `expect` section (metric
// thresholds, checked against kMetrics) of a scenario file. Part of the scenario parser.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "runner/scenario_reader.hpp"
#include "runner/scenario_values.hpp"

namespace streambed::runner::detail {
namespace {

struct EventKind {
    std::string_view name;
    Event::Kind kind;
    std::vector<std::string_view> fields;  // besides "at" and "event"
};

const std::vector<std::string_view> kImpairFields = {
    "direction", "latency",     "jitter",     "bandwidth",         "stall",      "reset",
    "slice",     "slice_delay", "limit_data", "drop_after_frames", "hold_stream"};

const std::vector<EventKind>& event_kinds() {
    static const std::vector<EventKind> kinds = [] {
        std::vector<std::string_view> impair = {"at", "event", "group", "name", "for"};
        impair.insert(impair.end(), kImpairFields.begin(), kImpairFields.end());
        return std::vector<EventKind>{
            {"impair", Event::Kind::impair, impair},
            {"clear", Event::Kind::clear, {"at", "event", "group", "name"}},
            {"partition", Event::Kind::partition, {"at", "event", "group", "for"}},
            {"server_kill", Event::Kind::server_kill, {"at", "event", "down_for"}},
            {"server_restart", Event::Kind::server_restart, {"at", "event", "down_for"}},
            {"churn", Event::Kind::churn, {"at", "event", "group", "fraction"}},
            {"join", Event::Kind::join, {"at", "event", "group"}},
            {"leave", Event::Kind::leave, {"at", "event", "group"}},
            {"node_kill", Event::Kind::node_kill, {"at", "event", "node", "down_for"}},
            {"node_restart", Event::Kind::node_restart, {"at", "event", "node", "down_for"}},
            {"redis_partition", Event::Kind::redis_partition, {"at", "event", "node", "for"}},
            {"redis_kill", Event::Kind::redis_kill, {"at", "event", "down_for"}},
        };
    }();
    return kinds;
}

void parse_impairment(const Object& o, Impairment& m) {
    if (auto v = o.get("direction")) {
        const auto d = v->string();
        if (d == "both")
            m.direction = Impairment::Direction::both;
        else if (d == "upstream")
            m.direction = Impairment::Direction::upstream;
        else if (d == "downstream")
            m.direction = Impairment::Direction::downstream;
        else
            v->fail(fmt::format(
                "'{}' is not a direction: expected both, upstream (client to server) or downstream",
                d));
    }
    if (auto v = o.get("latency")) m.latency = v->duration(Millis(0), Millis(600'000));
    if (auto v = o.get("jitter")) m.jitter = v->duration(Millis(0), Millis(600'000));
    if (auto v = o.get("bandwidth")) m.bandwidth = v->rate();
    if (auto v = o.get("stall")) m.stall = v->boolean();
    if (auto v = o.get("reset")) m.reset = v->boolean();
    if (auto v = o.get("slice")) m.slice = v->size(1, std::uint64_t{1} << 30);
    if (auto v = o.get("slice_delay")) {
        if (!o.has("slice")) v->fail("only with 'slice' (the size of the pieces it delays)");
        m.slice_delay = v->duration(Millis(0), Millis(600'000));
    }
    if (auto v = o.get("limit_data")) m.limit_data = v->size(1, std::uint64_t{1} << 50);
    if (auto v = o.get("drop_after_frames"))
        m.drop_after_frames = static_cast<std::uint64_t>(v->integer(1, 1'000'000'000));
    if (auto v = o.get("hold_stream")) {
        m.hold_stream = v->string();
        if (!is_channel_id(m.hold_stream))
            v->fail(fmt::format("'{}' is not a channel id (1 to 64 of A-Z a-z 0-9 _ . : -)",
                                m.hold_stream));
    }
    if (std::none_of(kImpairFields.begin(), kImpairFields.end(),
                     [&](std::string_view f) { return f != "direction" && o.has(f); }))
        o.self().fail(fmt::format("an impair event needs at least one impairment: {}",
                                  fmt::join(kImpairFields.begin() + 1, kImpairFields.end(), ", ")));
}

struct Parsed {
    Event event;
    std::size_t index;  // in the file
    Value value;
};

Parsed parse_event(const Value& value, std::size_t index, const Scenario& s) {
    if (!value.json().is_object()) value.fail("expected an event object {\"at\": …, \"event\": …}");
    std::vector<std::string_view> all, names;
    for (const auto& k : event_kinds()) {
        names.push_back(k.name);
        all.insert(all.end(), k.fields.begin(), k.fields.end());
    }
    const auto it = value.json().find("event");
    if (it == value.json().end())
        fail_at(join_path(value.path(), "event"),
                fmt::format("missing: one of {}", fmt::join(names, ", ")));
    const Value kind_value(*it, join_path(value.path(), "event"));
    const auto name = kind_value.string();
    const auto kind = std::find_if(event_kinds().begin(), event_kinds().end(),
                                   [&](const EventKind& k) { return k.name == name; });
    if (kind == event_kinds().end()) {
        const auto near = nearest_name(name, names);
        kind_value.fail(fmt::format("unknown event '{}'{}: expected one of {}", name,
                                    near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near),
                                    fmt::join(names, ", ")));
    }
    const Object o(value, kind->fields, fmt::format("a '{}' event", name), all);
    Parsed p{Event{}, index, value};
    Event& e = p.event;
    e.kind = kind->kind;
    e.at = o.require("at").duration(Millis(0), kDay);
    if (auto v = o.get("group")) {
        e.group = v->string();
        check_group_exists(*v, e.group, s);
    } else if (e.kind == Event::Kind::churn || e.kind == Event::Kind::join ||
               e.kind == Event::Kind::leave) {
        fail_at(join_path(value.path(), "group"),
                fmt::format("missing: a '{}' event names its group", name));
    }
    if (auto v = o.get("name")) {
        e.name = v->string();
        if (!is_name(e.name, 64))
            v->fail(
                fmt::format("'{}' is not an impairment name: 1 to 64 of A-Z a-z 0-9 _ -", e.name));
    } else if (e.kind == Event::Kind::impair) {
        e.name = fmt::format("impair-{}", index);
    }
    if (e.kind == Event::Kind::impair) {
        parse_impairment(o, e.impairment);
        if (auto v = o.get("for")) e.duration = v->duration(Millis(1), kDay);
    }
    if (e.kind == Event::Kind::partition) e.duration = o.require("for").duration(Millis(1), kDay);
    if (auto v = o.get("down_for")) e.down_for = v->duration(Millis(0), kDay);
    if (is_cluster_event(e.kind) && !s.cluster)
        kind_value.fail(
            fmt::format("a '{}' event needs a 'cluster' section (\"cluster\": "
                        "{{\"nodes\": 3}})",
                        name));
    if ((e.kind == Event::Kind::server_kill || e.kind == Event::Kind::server_restart) && s.cluster)
        kind_value.fail(
            "a cluster has no single server to stop: use node_kill or node_restart (or "
            "redis_kill)");
    if (e.kind == Event::Kind::node_kill || e.kind == Event::Kind::node_restart ||
        e.kind == Event::Kind::redis_partition)
        e.node = parse_node(o.require("node"), s, /*source_allowed=*/true);
    if (e.kind == Event::Kind::node_kill) e.stays_down = !o.has("down_for");
    if (e.kind == Event::Kind::redis_partition)
        e.duration = o.require("for").duration(Millis(1), kDay);
    if (auto v = o.get("fraction")) e.fraction = v->number(0, 1, /*lo_open=*/true);

    const std::string where = fmt::format("timeline[{}]", index);
    if (e.at > s.duration)
        fail_at(where, fmt::format("at {}, past the scenario's duration of {}",
                                   format_duration(e.at), format_duration(s.duration)));
    const Millis end = e.at + e.duration + e.down_for;
    if (end > s.duration)
        fail_at(where, fmt::format("ends at {}, past the scenario's duration of {}",
                                   format_duration(end), format_duration(s.duration)));
    return p;
}

// Checks between events: joins and leaves per group, clears of known impairments, server events
// while the server is down. `events` is sorted by `at` (stable).
void check_sequence(const std::vector<Parsed>& events, Scenario& s) {
    std::map<std::string, const Parsed*> joins, leaves;
    const Parsed* down =
        nullptr;  // the last server event, if the server is still down at this instant
    for (const auto& p : events) {
        const Event& e = p.event;
        const std::string where = fmt::format("timeline[{}]", p.index);
        if (e.kind == Event::Kind::join) {
            if (joins.count(e.group))
                fail_at(where, fmt::format("a second join of group '{}' (the first is "
                                           "timeline[{}]); a group joins at most once",
                                           e.group, joins[e.group]->index));
            joins[e.group] = &p;
            for (auto& g : s.groups)
                if (g.name == e.group) g.starts_joined = false;
        }
        if (e.kind == Event::Kind::leave) {
            if (leaves.count(e.group))
                fail_at(where,
                        fmt::format("a second leave of group '{}' (the first is timeline[{}])",
                                    e.group, leaves[e.group]->index));
            leaves[e.group] = &p;
        }
        if (e.kind == Event::Kind::clear && !e.name.empty()) {
            const bool known = std::any_of(events.begin(), events.end(), [&](const Parsed& q) {
                return q.event.kind == Event::Kind::impair && q.event.name == e.name &&
                       q.event.at <= e.at;
            });
            if (!known)
                fail_at(join_path(p.value.path(), "name"),
                        fmt::format("no impair event named '{}' at or before {}", e.name,
                                    format_duration(e.at)));
        }
        if (e.kind == Event::Kind::server_kill || e.kind == Event::Kind::server_restart) {
            if (down && e.at < down->event.at + down->event.down_for)
                fail_at(where,
                        fmt::format(
                            "at {}, while the server is down (timeline[{}] keeps it down until {})",
                            format_duration(e.at), down->index,
                            format_duration(down->event.at + down->event.down_for)));
            down = &p;
        }
    }
    // Leaves of joining groups: after the join (a join after the file's leave is an error too).
    for (const auto& [group, leave] : leaves) {
        const auto join = joins.find(group);
        if (join != joins.end() && !(leave->event.at > join->second->event.at))
            fail_at(fmt::format("timeline[{}]", leave->index),
                    fmt::format("group '{}' leaves at {}, not after it joins at {} (timeline[{}])",
                                group, format_duration(leave->event.at),
                                format_duration(join->second->event.at), join->second->index));
    }
}

}  // namespace

void parse_timeline(const Value& value, Scenario& s) {
    std::vector<Parsed> events;
    const auto elements = value.elements(0, 10000);
    for (std::size_t i = 0; i < elements.size(); ++i)
        events.push_back(parse_event(elements[i], i, s));
    std::stable_sort(events.begin(), events.end(),
                     [](const Parsed& a, const Parsed& b) { return a.event.at < b.event.at; });
    check_sequence(events, s);
    std::vector<IndexedEvent> cluster;
    for (const auto& p : events)
        if (is_cluster_event(p.event.kind)) cluster.emplace_back(&p.event, p.index);
    check_cluster_sequence(cluster, s);
    for (auto& p : events) s.timeline.push_back(std::move(p.event));
}

void parse_expectations(const Value& value, Scenario& s) {
    std::vector<std::string_view> known = {"group", "at"};
    for (const auto& m : kMetrics) known.push_back(m.name);
    for (const auto& element : value.elements(0, 10000)) {
        const Object o(element, known);
        std::string group;
        if (auto v = o.get("group")) {
            group = v->string();
            check_group_exists(*v, group, s);
        }
        std::optional<Millis> at;
        const auto at_value = o.get("at");
        if (at_value) {
            at = at_value->duration(Millis(0), kDay);
            if (*at > s.duration)
                at_value->fail(fmt::format("{} is past the scenario's duration of {}",
                                           format_duration(*at), format_duration(s.duration)));
        }
        std::size_t metrics = 0;
        for (const auto& key : o.keys()) {
            if (key == "group" || key == "at") continue;
            ++metrics;
            const MetricInfo& info = *find_metric(key);
            const Value v = *o.get(key);
            if (!info.per_group && !group.empty())
                v.fail(
                    fmt::format("a figure of the whole run: not with 'group' (put it in an object "
                                "of its own)"));
            if (info.needs_cluster && !s.cluster)
                v.fail("measured on a cluster's nodes: only with a 'cluster' section");
            if (info.needs_at && !at)
                v.fail("sampled at an instant: give 'at' in the same object (\"at\": \"30s\")");
            if (!info.needs_at && at)
                at_value->fail(fmt::format(
                    "applies only to 'connected'; put '{}' in an object of its own", key));
            Expectation x;
            x.group = group;
            x.metric = key;
            x.at = info.needs_at ? at : std::nullopt;
            if (info.kind == MetricKind::boolean) {
                if (!v.json().is_boolean())
                    v.fail(fmt::format("expected true or false, not {}", v.describe()));
                x.op = Expectation::Op::eq;
                x.threshold = v.json().get<bool>() ? 1 : 0;
                x.text = v.json().get<bool>() ? "true" : "false";
            } else {
                if (!v.json().is_string())
                    v.fail(fmt::format(
                        "expected a threshold string such as \"{}\" (an operator and a {}), not {}",
                        info.kind == MetricKind::duration ? "< 100ms"
                        : info.kind == MetricKind::size   ? "< 256MB"
                        : info.kind == MetricKind::ratio  ? ">= 0.999"
                                                          : "== 0",
                        kind_name(info.kind), v.describe()));
                x.text = v.json().get<std::string>();
                const auto t = parse_threshold(x.text, info.kind);
                if (!t.error.empty()) v.fail(t.error);
                x.op = t.op;
                x.threshold = t.value;
            }
            s.expectations.push_back(std::move(x));
        }
        if (metrics == 0)
            element.fail(fmt::format("no metric to check: give one or more of {}",
                                     fmt::join(known.begin() + 2, known.end(), ", ")));
    }
}

}  // namespace streambed::runner::detail
