// verdict.cpp: metric values from the fleet's totals, and thresholds checked against them.
#include "runner/verdict.hpp"

#include <fmt/format.h>

#include <cmath>

#include "runner/scenario_metrics.hpp"
#include "runner/scenario_values.hpp"

namespace streambed::runner {
using json = nlohmann::json;

namespace {

double ms(std::int64_t us) {
    return static_cast<double>(us) / 1000.0;
}

// The metric for one set of totals; nullopt when there is nothing to measure it on.
std::optional<double> metric_of(const std::string& metric, const fleet::GroupTotals& t) {
    const auto& s = t.seqs;
    auto close_count = [&](int code) {
        auto it = t.closes.find(code);
        return static_cast<double>(it == t.closes.end() ? 0 : it->second);
    };
    if (metric == "delivery_ratio") {
        if (s.expected == 0) return std::nullopt;
        return static_cast<double>(s.distinct) / static_cast<double>(s.expected);
    }
    if (metric == "messages") return static_cast<double>(t.messages);
    if (metric == "polled") return static_cast<double>(t.polled);
    if (metric == "gaps") return static_cast<double>(s.gaps);
    if (metric == "duplicates") return static_cast<double>(s.duplicates);
    if (metric == "conflated") return static_cast<double>(t.conflated);
    if (metric == "resets") return static_cast<double>(t.resets);
    if (metric == "reconnects") return static_cast<double>(t.reconnects);
    if (metric == "refused") return static_cast<double>(t.refused);
    if (metric == "errors") return static_cast<double>(t.errors);
    if (metric == "closes_1008") return close_count(1008);
    if (metric == "closes_1009") return close_count(1009);
    if (metric == "closes_1013") return close_count(1013);
    if (metric.starts_with("lateness_")) {
        if (t.lateness_us.count() == 0) return std::nullopt;
        if (metric == "lateness_p50") return ms(t.lateness_us.percentile(50));
        if (metric == "lateness_p99") return ms(t.lateness_us.percentile(99));
        if (metric == "lateness_p999") return ms(t.lateness_us.percentile(99.9));
        if (metric == "lateness_max") return ms(t.lateness_us.max());
    }
    // No reconnection at all: nobody waited.
    if (metric == "reconnect_p99") return ms(t.reconnect_us.percentile(99));
    if (metric == "reconnect_max") return ms(t.reconnect_us.max());
    return std::nullopt;
}

bool holds(double measured, Expectation::Op op, double threshold) {
    // Ratios and durations are compared with a tolerance below their printed precision.
    constexpr double eps = 1e-9;
    switch (op) {
        case Expectation::Op::lt:
            return measured < threshold - eps;
        case Expectation::Op::le:
            return measured <= threshold + eps;
        case Expectation::Op::gt:
            return measured > threshold + eps;
        case Expectation::Op::ge:
            return measured >= threshold - eps;
        case Expectation::Op::eq:
            return std::fabs(measured - threshold) <= eps;
    }
    return false;
}

std::string_view unit_of(const MetricInfo* info) {
    if (!info) return "";
    switch (info->kind) {
        case MetricKind::duration:
            return "ms";
        case MetricKind::size:
            return "MB";
        default:
            return "";
    }
}

}  // namespace

Verdict judge(const Scenario& scenario, const Measured& m) {
    Verdict v;
    fleet::GroupTotals all;
    for (const auto& g : m.groups) all.merge(g);
    for (const auto& e : scenario.expectations) {
        const MetricInfo* info = find_metric(e.metric);
        json row{{"group", e.group},         {"metric", e.metric},    {"op", op_text(e.op)},
                 {"threshold", e.threshold}, {"unit", unit_of(info)}, {"text", e.text}};
        std::optional<double> value;
        std::string skip;
        std::size_t g = scenario.groups.size();
        for (std::size_t i = 0; i < scenario.groups.size(); ++i)
            if (scenario.groups[i].name == e.group) g = i;
        if (e.metric == "server_rss") {
            value = m.server_rss_mb;
            if (!value) skip = m.server_skip_reason;
        } else if (e.metric == "recording_complete") {
            if (m.recording_complete)
                value = *m.recording_complete ? 1.0 : 0.0;
            else
                skip = m.recording_skip_reason;
        } else if (e.metric == "failover_max") {
            value = m.failover_max_ms;
        } else if (e.metric == "nodes_down_seen") {
            value = static_cast<double>(m.nodes_down_seen);
        } else if (e.metric == "connected" || e.metric == "connected_end") {
            double sum = 0;
            for (std::size_t i = 0; i < scenario.groups.size(); ++i) {
                if (g != scenario.groups.size() && i != g) continue;
                if (e.metric == "connected_end") {
                    sum += static_cast<double>(m.connected_end.at(i));
                } else {
                    auto it = m.connected_at.at(i).find(e.at->count());
                    if (it != m.connected_at.at(i).end()) sum += static_cast<double>(it->second);
                }
            }
            value = sum;
        } else {
            value = metric_of(e.metric, g == scenario.groups.size() ? all : m.groups.at(g));
        }
        if (!skip.empty()) {
            row["status"] = "skipped";
            row["reason"] = skip;
            row["measured"] = nullptr;
        } else if (!value) {
            row["status"] = "fail";
            row["reason"] = e.metric == "failover_max"
                                ? "nothing was measured (no source node was lost and replaced)"
                                : "nothing was measured (no data messages reached the group)";
            row["measured"] = nullptr;
            v.pass = false;
        } else {
            row["measured"] = std::round(*value * 1000.0) / 1000.0;
            const bool ok = holds(*value, e.op, e.threshold);
            row["status"] = ok ? "pass" : "fail";
            v.pass = v.pass && ok;
        }
        v.expectations.push_back(std::move(row));
    }
    return v;
}

json group_summary(const fleet::ClientGroup& group, const fleet::GroupTotals& t,
                   std::size_t connected_end) {
    auto value = [&](const char* metric) -> json {
        auto v = metric_of(metric, t);
        return v ? json(std::round(*v * 1000.0) / 1000.0) : json(nullptr);
    };
    json closes = json::object();
    for (const auto& [code, n] : t.closes) closes[std::to_string(code)] = n;
    json reasons = json::object();
    for (const auto& [why, n] : t.reasons) reasons[why] = n;
    return json{{"name", group.name},
                {"clients", group.clients},
                {"endpoint", group.endpoint},
                {"connected_end", connected_end},
                {"messages", t.messages},
                {"polled", t.polled},
                {"delivery_ratio", value("delivery_ratio")},
                {"gaps", t.seqs.gaps},
                {"duplicates", t.seqs.duplicates},
                {"conflated", t.conflated},
                {"declared", t.seqs.declared},
                {"resets", t.resets},
                {"errors", t.errors},
                {"connects", t.connects},
                {"reconnects", t.reconnects},
                {"refused", t.refused},
                {"failed", t.failed},
                {"dead", t.dead},
                {"lost", t.lost},
                {"closes", closes},
                {"reasons", reasons},
                {"lateness_ms",
                 {{"p50", value("lateness_p50")},
                  {"p99", value("lateness_p99")},
                  {"p999", value("lateness_p999")},
                  {"max", value("lateness_max")}}},
                {"reconnect_ms",
                 {{"p50", std::round(ms(t.reconnect_us.percentile(50)) * 1000.0) / 1000.0},
                  {"p99", value("reconnect_p99")},
                  {"max", value("reconnect_max")}}}};
}

}  // namespace streambed::runner
