// run_report.cpp: the report's JSON and the terminal summary.
#include "runner/run_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace streambed::runner {

using json = nlohmann::json;

std::string reproduce_line(const RunOptions& o, std::uint64_t seed) {
    std::string line = fmt::format("{} run {} --seed {}", o.program, o.scenario_file, seed);
    if (!o.target.empty()) line += " --target " + o.target;
    return line;
}

namespace {

json ms_or_null(const fleet::Histogram& h, double p) {
    if (h.count() == 0) return nullptr;
    return std::round(static_cast<double>(h.percentile(p))) / 1000.0;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

json make_report(const ReportInput& in) {
    const auto& s = in.scenario;
    json r{{"streambed", "0.1.0"},
           {"scenario", s.name},
           {"description", s.description},
           {"file", in.options.scenario_file},
           {"seed", in.seed},
           {"reproduce", reproduce_line(in.options, in.seed)},
           {"started", iso8601(in.started)},
           {"wall_seconds", std::round(in.wall_seconds * 100) / 100},
           {"duration_s", static_cast<double>(s.duration.count()) / 1000.0},
           {"time_scale", s.time_scale},
           {"target", !in.options.target.empty() ? in.options.target
                      : in.options.in_process    ? "in-process"
                                                 : "child process"}};
    if (!in.error.empty()) {
        r["result"] = "fail";
        r["error"] = in.error;
        r["expectations"] = json::array();
        return r;
    }
    const Verdict v = judge(s, in.measured);
    r["result"] = v.pass ? "pass" : "fail";
    r["expectations"] = v.expectations;
    json groups = json::array();
    for (std::size_t g = 0; g < s.groups.size() && g < in.measured.groups.size(); ++g)
        groups.push_back(
            group_summary(s.groups[g], in.measured.groups[g], in.measured.connected_end.at(g)));
    r["groups"] = groups;
    if (in.measured.server_rss_mb)
        r["server_rss_mb"] = std::round(*in.measured.server_rss_mb * 10) / 10;
    // What the instrument cost: the fleet's (and proxies') CPU per data message received.
    std::uint64_t received = 0;
    for (const auto& g : in.measured.groups) received += g.messages;
    r["client_cpu_s"] = std::round(in.measured.client_cpu_s * 1000) / 1000;
    r["client_cpu_us_per_message"] = received
                                         ? json(std::round(in.measured.client_cpu_s * 1e6 /
                                                           static_cast<double>(received) * 100) /
                                                100)
                                         : json(nullptr);
    json timeline = json::array();
    for (const auto& w : in.windows)
        timeline.push_back({{"at_s", static_cast<double>(w.at_ms) / 1000.0},
                            {"until_s", static_cast<double>(w.until_ms) / 1000.0},
                            {"kind", w.kind},
                            {"group", w.group},
                            {"label", w.label}});
    r["timeline"] = timeline;
    // The series: one point per bucket of simulated time, up to the scenario's end.
    const double scale = s.time_scale;
    const double bucket_wall_s = static_cast<double>(in.bucket_ms) / 1000.0 / scale;
    json t = json::array(), connected = json::array(), rate = json::array(), p50 = json::array(),
         p99 = json::array(), p999 = json::array();
    const auto points = static_cast<std::size_t>(s.duration.count() / in.bucket_ms);
    for (std::size_t i = 0; i < points; ++i) {
        t.push_back(static_cast<double>(i * static_cast<std::size_t>(in.bucket_ms)) / 1000.0);
        connected.push_back(i < in.connected_series.size() ? json(in.connected_series[i])
                                                           : json(nullptr));
        if (i < in.result.buckets.size()) {
            const auto& b = in.result.buckets[i];
            rate.push_back(std::round(static_cast<double>(b.messages) / bucket_wall_s));
            p50.push_back(ms_or_null(b.lateness_us, 50));
            p99.push_back(ms_or_null(b.lateness_us, 99));
            p999.push_back(ms_or_null(b.lateness_us, 99.9));
        } else {
            rate.push_back(0);
            p50.push_back(nullptr);
            p99.push_back(nullptr);
            p999.push_back(nullptr);
        }
    }
    r["series"] = {{"t", t},
                   {"connected", connected},
                   {"msgs_per_s", rate},
                   {"lateness_p50_ms", p50},
                   {"lateness_p99_ms", p99},
                   {"lateness_p999_ms", p999}};
    return r;
}

std::string progress_line(std::int64_t sim_ms, std::int64_t duration_ms, std::size_t connected,
                          double msgs_per_s, std::int64_t p99_us,
                          const std::vector<Window>& windows) {
    std::string active;
    for (const auto& w : windows)
        if (w.at_ms <= sim_ms && sim_ms < w.until_ms)
            active += (active.empty() ? "active: " : ", ") + w.label;
    return fmt::format("\r[{:6.1f}s / {:.0f}s] connected {}  {:.0f} msg/s  p99 {:.1f} ms  {}      ",
                       static_cast<double>(sim_ms) / 1000.0,
                       static_cast<double>(duration_ms) / 1000.0, connected, msgs_per_s,
                       static_cast<double>(p99_us) / 1000.0, active);
}

std::string summary_text(const json& report) {
    std::string out = fmt::format("scenario {} (seed {})", report.value("scenario", "?"),
                                  report.value("seed", 0));
    if (report.contains("error")) {
        out += fmt::format(": the run could not be made: {}\n", report["error"].get<std::string>());
    } else {
        out += "\n";
        for (const auto& e : report.value("expectations", json::array())) {
            const std::string group = e.value("group", "");
            std::string measured =
                e["measured"].is_null() ? "—" : fmt::format("{}", e["measured"].get<double>());
            out += fmt::format("  {:7} {}{} {}: measured {}{}{}\n", e.value("status", "?"),
                               group.empty() ? "" : group + ".", e.value("metric", "?"),
                               e.value("text", ""), measured,
                               e["measured"].is_null() ? "" : e.value("unit", ""),
                               e.contains("reason") ? " — " + e["reason"].get<std::string>() : "");
        }
    }
    // What a cluster's nodes did: the source, failovers, Redis DOWN (cluster_run.cpp).
    if (report.contains("cluster"))
        for (const auto& f : report["cluster"].value("facts", json::array()))
            if (f.is_string()) out += "  cluster " + f.get<std::string>() + "\n";
    const bool pass = report.value("result", "fail") == "pass";
    if (!pass) {
        // Why connections failed or were lost, the commonest first, to start the diagnosis.
        for (const auto& g : report.value("groups", json::array())) {
            const auto reasons = g.find("reasons");
            if (reasons == g.end() || !reasons->is_object()) continue;
            std::vector<std::pair<std::uint64_t, std::string>> why;
            for (auto it = reasons->begin(); it != reasons->end(); ++it)
                if (it->is_number_unsigned()) why.emplace_back(it->get<std::uint64_t>(), it.key());
            std::sort(why.rbegin(), why.rend());
            for (std::size_t i = 0; i < why.size() && i < 5; ++i)
                out += fmt::format("  why     {}: {} × {}\n", g.value("name", "?"), why[i].first,
                                   why[i].second);
        }
    }
    out +=
        fmt::format("{} in {:.1f} s\n", pass ? "PASS" : "FAIL", report.value("wall_seconds", 0.0));
    if (!pass) out += fmt::format("reproduce: {}\n", report.value("reproduce", ""));
    return out;
}

}  // namespace streambed::runner
