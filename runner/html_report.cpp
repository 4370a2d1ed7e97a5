// html_report.cpp: the run's report as one self-contained HTML page (see html_report.hpp).
// Every string from the report goes through escape_html; every number through format_number;
// any field may be missing, null or of another type, and the page shows what is there.
#include "runner/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "runner/html_style.hpp"
#include "runner/html_text.hpp"
#include "runner/svg_chart.hpp"

namespace streambed::runner {
namespace {

using nlohmann::json;

std::string with_unit(const json& v, const std::string& unit) {
    const std::string c = cell(v);
    return c == "—" || unit.empty() ? c : c + " " + escape_html(unit);
}

std::string upper(std::string s) {
    for (char& c : s) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    return s;
}

std::string seconds(const json& v) {
    const auto d = number(v);
    return d ? format_number(*d) + " s" : "—";
}

// ---- header -------------------------------------------------------------------------------

std::string render_header(const json& r) {
    const std::string result = plain(field(r, "result"));
    const std::string badge_class = result == "pass"   ? "pass"
                                    : result == "fail" ? "fail"
                                                       : "unknown";
    const std::string badge = result.empty() ? "NO RESULT" : upper(result);
    const std::string name = plain(field(r, "scenario"));
    std::string s = fmt::format(
        "<header>\n<div class=\"title\"><h1>{}</h1><p class=\"description\">{}</p></div>\n"
        "<div class=\"badge {}\">{}</div>\n</header>\n",
        name.empty() ? "(unnamed scenario)" : escape_html(name),
        escape_html(plain(field(r, "description"))), badge_class, escape_html(badge));

    const json& scale = field(r, "time_scale");
    const std::pair<const char*, std::string> meta[] = {
        {"seed", cell(field(r, "seed"))},
        {"started", cell(field(r, "started"))},
        {"wall time", seconds(field(r, "wall_seconds"))},
        {"simulated duration", seconds(field(r, "duration_s"))},
        {"time scale", number(scale) ? "×" + format_number(*number(scale)) : cell(scale)},
        {"target", cell(field(r, "target"))},
        {"scenario file", cell(field(r, "file"))},
        {"streambed", cell(field(r, "streambed"))},
    };
    s += "<dl class=\"meta\">\n";
    for (const auto& [k, v] : meta) s += fmt::format("<div><dt>{}</dt><dd>{}</dd></div>\n", k, v);
    s += "</dl>\n";
    const std::string repro = plain(field(r, "reproduce"));
    if (!repro.empty()) {
        s += fmt::format(
            "<div class=\"reproduce\"><span>Reproduce</span>"
            "<pre class=\"reproduce\"><code>{}</code></pre></div>\n",
            escape_html(repro));
    }
    return s;
}

// ---- expectations -------------------------------------------------------------------------

std::string render_expectations(const json& r) {
    std::vector<const json*> rows = elements(field(r, "expectations"));
    if (rows.empty()) return "<h2>Expectations</h2>\n<p class=\"note\">No expectations.</p>\n";
    const auto status_of = [](const json* e) { return plain(field(*e, "status")); };
    std::stable_partition(rows.begin(), rows.end(),
                          [&](const json* e) { return status_of(e) == "fail"; });
    int counts[4] = {0, 0, 0, 0};  // fail, pass, skipped, other
    std::string body;
    for (const json* e : rows) {
        const std::string status = status_of(e);
        const int k = status == "fail" ? 0 : status == "pass" ? 1 : status == "skipped" ? 2 : 3;
        ++counts[k];
        const char* cls = k == 0 ? "fail" : k == 1 ? "pass" : k == 2 ? "skipped" : "unknown";
        const std::string label = status.empty() ? "?" : upper(status);
        const std::string unit = plain(field(*e, "unit"));
        const std::string group = plain(field(*e, "group"));
        std::string expect = escape_html(plain(field(*e, "op")));
        const std::string threshold = with_unit(field(*e, "threshold"), unit);
        if (threshold != "—") expect += (expect.empty() ? "" : " ") + threshold;
        body += fmt::format(
            "<tr class=\"exp status-{}\"><td class=\"status\">{}</td><td>{}</td><td>{}</td>"
            "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"reason\">{}</td></tr>\n",
            cls, escape_html(label), group.empty() ? "<i>all</i>" : escape_html(group),
            cell(field(*e, "metric")), expect.empty() ? "—" : expect,
            with_unit(field(*e, "measured"), unit), escape_html(plain(field(*e, "reason"))));
    }
    std::string summary;
    const char* names[] = {"failed", "passed", "skipped", "other"};
    for (int k = 0; k < 4; ++k) {
        if (counts[k] == 0) continue;
        summary +=
            fmt::format("{}<span class=\"count-{}\">{} {}</span>", summary.empty() ? "" : " · ",
                        k == 0 ? "fail" : "other", counts[k], names[k]);
    }
    return "<h2>Expectations</h2>\n<p class=\"summary\">" + summary +
           "</p>\n<table class=\"expectations\">\n<thead><tr><th>status</th><th>group</th>"
           "<th>metric</th><th>expected</th><th>measured</th><th>note</th></tr></thead>\n"
           "<tbody>\n" +
           body + "</tbody></table>\n";
}

// ---- charts -------------------------------------------------------------------------------

std::vector<std::optional<double>> numbers(const json& v) {
    std::vector<std::optional<double>> out;
    for (const json* e : elements(v)) out.push_back(number(*e));
    return out;
}

std::vector<ChartWindow> windows_of(const json& r) {
    std::vector<ChartWindow> out;
    for (const json* e : elements(field(r, "timeline"))) {
        const auto at = number(field(*e, "at_s"));
        if (!at) continue;
        const auto until = number(field(*e, "until_s"));
        std::string label = plain(field(*e, "label"));
        if (label.empty()) label = plain(field(*e, "kind"));
        out.push_back({*at, until.value_or(*at), plain(field(*e, "kind")), label});
    }
    return out;
}

std::string chart_figure(const std::string& heading, const ChartSpec& spec,
                         const std::string& note) {
    return fmt::format(
        "<figure class=\"chart\"><h3>{}</h3>\n{}\n<figcaption>{}</figcaption></figure>\n",
        escape_html(heading), render_svg_chart(spec), note);
}

std::string render_charts(const json& r) {
    std::string s = "<h2>Over time</h2>\n";
    const json& series = field(r, "series");
    if (!series.is_object())
        return s + "<p class=\"note\">This report has no series; no charts.</p>\n";
    if (!field(series, "t").is_array()) {
        return s +
               "<p class=\"note\">The series have no time axis (<code>series.t</code>); no "
               "charts.</p>\n";
    }
    ChartSpec base;
    base.t = numbers(field(series, "t"));
    base.windows = windows_of(r);
    base.x_end = number(field(r, "duration_s")).value_or(0);
    const auto line = [&](const char* key, const char* name, const char* color) {
        return ChartLine{name, color, numbers(field(series, key))};
    };
    std::string bucket;
    if (base.t.size() >= 2 && base.t[0] && base.t[1] && *base.t[1] > *base.t[0]) {
        bucket = fmt::format(" One point per {} s of simulated time.",
                             format_number(*base.t[1] - *base.t[0]));
    }
    const std::string shading = " Shaded: the timeline's fault windows." + bucket;

    ChartSpec lateness = base;
    lateness.title = "Lateness percentiles over time";
    lateness.y_label = "lateness (ms, log scale)";
    lateness.log_y = true;
    const std::pair<const char*, const char*> pcts[] = {
        {"lateness_p50_ms", "p50"}, {"lateness_p99_ms", "p99"}, {"lateness_p999_ms", "p99.9"}};
    const char* colors[] = {"#2563eb", "#7c3aed", "#dc2626"};
    for (int i = 0; i < 3; ++i) {
        if (field(series, pcts[i].first).is_array()) {
            lateness.lines.push_back(line(pcts[i].first, pcts[i].second, colors[i]));
        }
    }
    if (!lateness.lines.empty()) {
        s += chart_figure("Lateness (ms)", lateness,
                          "Percentiles of data-message lateness per bucket; a break in a line is a "
                          "bucket with no sample." +
                              shading);
    }
    if (field(series, "msgs_per_s").is_array()) {
        ChartSpec rate = base;
        rate.title = "Delivered messages per wall second";
        rate.y_label = "msgs / wall s";
        rate.lines.push_back(line("msgs_per_s", "delivered msgs/s", "#0f766e"));
        s += chart_figure("Delivered messages per second", rate,
                          "Data messages delivered to all groups per wall-clock second, plotted "
                          "against simulated time." +
                              shading);
    }
    if (field(series, "connected").is_array()) {
        ChartSpec conn = base;
        conn.title = "Connected clients";
        conn.y_label = "clients";
        conn.lines.push_back(line("connected", "connected", "#16a34a"));
        double fleet = 0;
        for (const json* g : elements(field(r, "groups")))
            fleet += number(field(*g, "clients")).value_or(0);
        if (fleet > 0) conn.reference = ChartReference{fleet, "fleet: " + format_number(fleet)};
        s += chart_figure("Connected clients", conn,
                          "Clients connected at each bucket, all groups." + shading);
    }
    return s;
}

// ---- groups -------------------------------------------------------------------------------

// sort rank of a percentile key: p50 < p90 < p99 < p999 < max < anything else
int percentile_rank(const std::string& k) {
    static const char* order[] = {"p50", "p90", "p95", "p99", "p999", "max"};
    for (int i = 0; i < 6; ++i) {
        if (k == order[i]) return i;
    }
    return 6;
}

std::string closes_cell(const json& v) {
    if (!v.is_object()) return cell(v);
    if (v.empty()) return "none";
    std::string s;
    for (const auto& [code, count] : v.items()) {
        s += fmt::format("{}{} × {}", s.empty() ? "" : ", ", escape_html(code), cell(count));
    }
    return s;
}

std::string render_groups(const json& r) {
    const std::vector<const json*> groups = elements(field(r, "groups"));
    if (groups.empty()) return "<h2>Groups</h2>\n<p class=\"note\">No groups.</p>\n";
    struct Row {
        std::string label;     // escaped
        std::string key, sub;  // group[key] or group[key][sub]
        bool bad_if_positive = false;
    };
    std::vector<Row> rows = {
        {"endpoint", "endpoint", "", false},
        {"clients", "clients", "", false},
        {"connected at end", "connected_end", "", false},
        {"messages delivered", "messages", "", false},
        {"delivery ratio", "delivery_ratio", "", false},
        {"gaps", "gaps", "", true},
        {"duplicates", "duplicates", "", true},
        {"conflated", "conflated", "", false},
        {"resets", "resets", "", false},
        {"reconnects", "reconnects", "", false},
        {"refused", "refused", "", false},
        {"closes (code × count)", "closes", "", false},
    };
    std::vector<std::string> known = {"name"};
    for (const auto& row : rows) known.push_back(row.key);
    // the percentile objects, one row per percentile any group has; then fields we do not know
    for (const char* key : {"lateness_ms", "reconnect_ms"}) {
        known.emplace_back(key);
        std::vector<std::string> subs;
        for (const json* g : groups) {
            const json& obj = field(*g, key);
            if (!obj.is_object()) continue;
            for (const auto& item : obj.items()) {
                if (std::find(subs.begin(), subs.end(), item.key()) == subs.end())
                    subs.push_back(item.key());
            }
        }
        std::stable_sort(subs.begin(), subs.end(), [](const std::string& a, const std::string& b) {
            return percentile_rank(a) < percentile_rank(b);
        });
        const std::string what =
            std::string_view(key) == "lateness_ms" ? "lateness" : "reconnect time";
        for (const auto& sub : subs) {
            rows.push_back(
                {fmt::format("{} {} (ms)", what, escape_html(sub == "p999" ? "p99.9" : sub)), key,
                 sub, false});
        }
    }
    for (const json* g : groups) {
        if (!g->is_object()) continue;
        for (const auto& item : g->items()) {
            if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
            known.push_back(item.key());
            rows.push_back({escape_html(item.key()), item.key(), "", false});
        }
    }

    std::string s =
        "<h2>Groups</h2>\n<div class=\"scroll\"><table class=\"groups\">\n<thead><tr><th></th>";
    for (const json* g : groups) {
        const std::string name = plain(field(*g, "name"));
        s += fmt::format("<th class=\"num\">{}</th>",
                         name.empty() ? "(unnamed)" : escape_html(name));
    }
    s += "</tr></thead>\n<tbody>\n";
    for (const auto& row : rows) {
        s += "<tr><th>" + row.label + "</th>";
        for (const json* g : groups) {
            const json& v = row.sub.empty() ? field(*g, row.key.c_str())
                                            : field(field(*g, row.key.c_str()), row.sub.c_str());
            const bool bad = row.bad_if_positive && number(v).value_or(0) > 0;
            s += fmt::format("<td class=\"num{}\">{}</td>", bad ? " bad" : "",
                             row.key == "closes" ? closes_cell(v) : cell(v));
        }
        s += "</tr>\n";
    }
    return s + "</tbody></table></div>\n";
}

// ---- timeline -----------------------------------------------------------------------------

std::string render_timeline(const json& r) {
    std::vector<const json*> events = elements(field(r, "timeline"));
    if (events.empty()) return "<h2>Timeline</h2>\n<p class=\"note\">No timeline events.</p>\n";
    std::stable_sort(events.begin(), events.end(), [](const json* a, const json* b) {
        return number(field(*a, "at_s")).value_or(INFINITY) <
               number(field(*b, "at_s")).value_or(INFINITY);
    });
    std::string s = "<h2>Timeline</h2>\n<ol class=\"timeline\">\n";
    for (const json* e : events) {
        const auto at = number(field(*e, "at_s"));
        const auto until = number(field(*e, "until_s"));
        std::string when = at ? format_number(*at) + " s" : "?";
        if (at && until && *until != *at) {
            when += fmt::format(" → {} s <span class=\"dur\">({} s)</span>", format_number(*until),
                                format_number(*until - *at));
        }
        const std::string kind = plain(field(*e, "kind")), group = plain(field(*e, "group"));
        s += fmt::format(
            "<li><span class=\"swatch\" style=\"background:{}\"></span><span "
            "class=\"when\">{}</span> "
            "<b>{}</b>{} — {}</li>\n",
            window_color(kind), when, kind.empty() ? "event" : escape_html(kind),
            group.empty() ? "" : " · " + escape_html(group),
            escape_html(plain(field(*e, "label"))));
    }
    return s + "</ol>\n";
}

// A cluster's run: what its nodes did (the source, failovers, Redis DOWN), in order.
std::string render_cluster(const json& r) {
    const json& c = field(r, "cluster");
    if (!c.is_object()) return "";
    std::string s = "<h2>Cluster</h2>\n<ol class=\"timeline\">\n";
    for (const json* f : elements(field(c, "facts")))
        s += "<li>" + escape_html(plain(*f)) + "</li>\n";
    return s + "</ol>\n";
}

// ---- page -----------------------------------------------------------------------------------

}  // namespace

std::string render_html(const nlohmann::json& report) {
    const std::string name = plain(field(report, "scenario"));
    std::string result = plain(field(report, "result"));
    std::string s =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    s +=
        fmt::format("<title>{}{}streambed</title>\n", name.empty() ? "" : escape_html(name) + " · ",
                    result.empty() ? "" : escape_html(result) + " · ");
    s += "<style>" + std::string(kReportCss) + "</style>\n</head>\n<body>\n<main>\n";
    if (!report.is_object()) s += "<p class=\"note\">The report is not a JSON object.</p>\n";
    s += render_header(report);
    s += render_expectations(report);
    s += render_charts(report);
    s += render_groups(report);
    s += render_timeline(report);
    s += render_cluster(report);
    s += "<footer>Rendered by streambed from the run's report; self-contained, no network "
         "needed.</footer>\n";
    return s + "</main>\n</body>\n</html>\n";
}

}  // namespace streambed::runner
