// scenario_groups.cpp: the `groups` section of a scenario file — the client fleet, one group of
// identical clients per entry: endpoint and subscriptions, how they read, reconnect, resume and
// misbehave. Part of the scenario parser (scenario_parse.cpp).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "runner/scenario_reader.hpp"
#include "runner/scenario_values.hpp"

namespace streambed::runner::detail {
namespace {

const std::vector<std::string_view> kEndpoints = {"/ws/channels",   "/ws/transactions",
                                                  "/ws/validators", "/ws/consensus",
                                                  "/ws/network",    "/ws/metrics"};

bool needs_subscribe(std::string_view endpoint) {
    return endpoint == "/ws/channels" || endpoint == "/ws/transactions" ||
           endpoint == "/ws/validators";
}

Reading parse_reading(const Value& value) {
    Reading r;
    static const std::vector<std::string_view> kModes = {"normal", "never", "slow", "pausing"};
    const Json& j = value.json();
    if (j.is_string()) {
        const auto mode = j.get<std::string>();
        if (mode == "normal") return r;
        if (mode == "never") {
            r.mode = Reading::Mode::never;
            return r;
        }
        if (mode == "slow")
            value.fail("\"slow\" needs a rate: {\"mode\": \"slow\", \"bytes_per_second\": 2000}");
        if (mode == "pausing")
            value.fail(
                "\"pausing\" needs its timings: {\"mode\": \"pausing\", \"every\": \"10s\", "
                "\"pause\": \"5s\"}");
        const auto near = nearest_name(mode, kModes);
        value.fail(
            fmt::format("unknown reading mode '{}'{}: expected \"normal\", \"never\", {{\"mode\": "
                        "\"slow\", …}} or "
                        "{{\"mode\": \"pausing\", …}}",
                        mode, near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
    }
    if (!j.is_object() || !j.contains("mode"))
        value.fail(fmt::format(
            "expected \"normal\", \"never\", {{\"mode\": \"slow\", \"bytes_per_second\": N}} or "
            "{{\"mode\": \"pausing\", \"every\": D, \"pause\": D}}, not {}",
            value.describe()));
    const Value mode_value(j["mode"], join_path(value.path(), "mode"));
    const auto mode = mode_value.string();
    static const std::vector<std::string_view> kAll = {"mode", "bytes_per_second", "every",
                                                       "pause"};
    if (mode == "normal" || mode == "never") {
        const Object o(value, {"mode"}, fmt::format("reading mode '{}'", mode), kAll);
        if (mode == "never") r.mode = Reading::Mode::never;
    } else if (mode == "slow") {
        const Object o(value, {"mode", "bytes_per_second"}, "reading mode 'slow'", kAll);
        r.mode = Reading::Mode::slow;
        r.bytes_per_second = o.require("bytes_per_second").rate();
    } else if (mode == "pausing") {
        const Object o(value, {"mode", "every", "pause"}, "reading mode 'pausing'", kAll);
        r.mode = Reading::Mode::pausing;
        r.every = o.require("every").duration(Millis(1), kDay);
        const Value pause = o.require("pause");
        r.pause = pause.duration(Millis(1), kDay);
        if (r.pause >= r.every)
            pause.fail(fmt::format("must be shorter than 'every' ({}), not {}",
                                   format_duration(r.every), format_duration(r.pause)));
    } else {
        const auto near = nearest_name(mode, kModes);
        mode_value.fail(
            fmt::format("unknown reading mode '{}'{}: expected normal, never, slow or pausing",
                        mode, near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
    }
    return r;
}

Reconnect parse_reconnect(const Value& value) {
    Reconnect r;
    if (value.json().is_boolean()) {
        r.enabled = value.json().get<bool>();
        return r;
    }
    if (!value.json().is_object())
        value.fail(fmt::format(
            "expected false (no reconnect), true (the default policy) or {{\"min\": \"500ms\", "
            "\"max\": \"20s\"}}, not {}",
            value.describe()));
    const Object o(value, {"min", "max"});
    if (auto v = o.get("min")) r.min = v->duration(Millis(1), kDay);
    if (auto v = o.get("max")) r.max = v->duration(Millis(1), kDay);
    if (r.min > r.max)
        fail_at(value.path(), fmt::format("'min' ({}) must not exceed 'max' ({})",
                                          format_duration(r.min), format_duration(r.max)));
    return r;
}

Misbehaviour parse_misbehave(const Value& value) {
    Misbehaviour m;
    static const std::vector<std::string_view> kKinds = {"none", "malformed_json", "flood",
                                                         "oversized"};
    if (value.json().is_string() && value.json().get<std::string>() == "none") return m;
    if (!value.json().is_object() || !value.json().contains("kind"))
        value.fail(
            fmt::format("expected {{\"kind\": \"malformed_json\"|\"flood\", \"per_second\": N}}, "
                        "{{\"kind\": \"oversized\", \"bytes\": \"128KiB\"}} or \"none\", not {}",
                        value.describe()));
    const Value kind_value(value.json()["kind"], join_path(value.path(), "kind"));
    const auto kind = kind_value.string();
    static const std::vector<std::string_view> kAll = {"kind", "per_second", "bytes"};
    if (kind == "none") {
        const Object o(value, {"kind"}, "misbehaviour 'none'", kAll);
    } else if (kind == "malformed_json" || kind == "flood") {
        const Object o(value, {"kind", "per_second"}, fmt::format("misbehaviour '{}'", kind), kAll);
        m.kind = kind == "flood" ? Misbehaviour::Kind::flood : Misbehaviour::Kind::malformed_json;
        if (auto v = o.get("per_second")) m.per_second = v->number(0, 1e6, /*lo_open=*/true);
    } else if (kind == "oversized") {
        const Object o(value, {"kind", "bytes"}, "misbehaviour 'oversized'", kAll);
        m.kind = Misbehaviour::Kind::oversized;
        if (auto v = o.get("bytes")) m.bytes = v->size(1, std::uint64_t{1} << 30);
    } else {
        const auto near = nearest_name(kind, kKinds);
        kind_value.fail(fmt::format(
            "unknown misbehaviour '{}'{}: expected none, malformed_json, flood or oversized", kind,
            near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)));
    }
    return m;
}

ClientGroup parse_group(const Value& value, const Scenario& s) {
    const Object o(value, {"name", "clients", "ramp_up", "endpoint", "subscribe", "batch",
                           "deflate", "reading", "reconnect", "resume", "polling_fallback",
                           "poll_interval", "misbehave", "node"});
    ClientGroup g;
    const Value name = o.require("name");
    g.name = name.string();
    if (!is_name(g.name, 32))
        name.fail(fmt::format("'{}' is not a group name: 1 to 32 of A-Z a-z 0-9 _ -", g.name));
    if (auto v = o.get("clients")) g.clients = static_cast<std::size_t>(v->integer(1, 20000));
    if (auto v = o.get("ramp_up")) {
        g.ramp_up = v->duration(Millis(0), kDay);
        if (g.ramp_up > s.duration)
            v->fail(fmt::format("{} is longer than the scenario's duration of {}",
                                format_duration(g.ramp_up), format_duration(s.duration)));
    }
    if (auto v = o.get("endpoint")) {
        g.endpoint = v->string();
        if (std::find(kEndpoints.begin(), kEndpoints.end(), g.endpoint) == kEndpoints.end()) {
            const auto near = nearest_name(g.endpoint, kEndpoints);
            v->fail(fmt::format("'{}' is not an endpoint{}: expected one of {}", g.endpoint,
                                near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near),
                                fmt::join(kEndpoints, ", ")));
        }
    }
    if (auto v = o.get("subscribe")) {
        for (const auto& element : v->elements(0, 10000)) {
            const auto channel = element.string();
            if (channel != "*" && !is_channel_id(channel))
                element.fail(fmt::format(
                    "'{}' is not a channel id (1 to 64 of A-Z a-z 0-9 _ . : -) or \"*\"", channel));
            g.subscribe.push_back(channel);
        }
        if (!needs_subscribe(g.endpoint) && !g.subscribe.empty())
            v->fail(fmt::format(
                "{} subscribes each connection when it opens: leave 'subscribe' out", g.endpoint));
    }
    if (needs_subscribe(g.endpoint) && g.subscribe.empty())
        fail_at(
            join_path(value.path(), "subscribe"),
            fmt::format("{} sends nothing until a client subscribes: give channel ids or [\"*\"]",
                        g.endpoint));
    if (auto v = o.get("batch")) g.batch = v->boolean();
    if (auto v = o.get("deflate")) g.deflate = v->boolean();
    if (auto v = o.get("reading")) g.reading = parse_reading(*v);
    if (auto v = o.get("reconnect")) g.reconnect = parse_reconnect(*v);
    if (auto v = o.get("resume")) g.resume = v->boolean();
    if (auto v = o.get("polling_fallback")) g.polling_fallback = v->boolean();
    if (auto v = o.get("poll_interval")) g.poll_interval = v->duration(Millis(1), kDay);
    if (auto v = o.get("misbehave")) g.misbehave = parse_misbehave(*v);
    if (auto v = o.get("node")) g.node = parse_node(*v, s, /*source_allowed=*/false);
    return g;
}

}  // namespace

void parse_groups(const Value& value, Scenario& s) {
    std::set<std::string> names;
    for (const auto& element : value.elements(1, 64)) {
        ClientGroup g = parse_group(element, s);
        if (!names.insert(g.name).second)
            fail_at(join_path(element.path(), "name"),
                    fmt::format("a second group named '{}' (names are unique)", g.name));
        s.groups.push_back(std::move(g));
    }
}

void check_group_exists(const Value& name_value, const std::string& name, const Scenario& s) {
    std::vector<std::string_view> names;
    for (const auto& g : s.groups) {
        if (g.name == name) return;
        names.push_back(g.name);
    }
    const auto near = nearest_name(name, names);
    name_value.fail(fmt::format("no group named '{}'{}", name,
                                near.empty()
                                    ? fmt::format(" (the groups: {})", fmt::join(names, ", "))
                                    : fmt::format(" (did you mean '{}'?)", near)));
}

}  // namespace streambed::runner::detail
