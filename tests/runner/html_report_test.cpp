// html_report_test.cpp: the HTML report — verdict badge, reproduce line, one table row per
// expectation with its status (failures first), three inline SVG charts with every timeline
// window shaded where it belongs, escaping of every report string, nothing fetched from the
// network, and reports with missing, null or mistyped fields rendered without throwing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/html_report.hpp"
#include "runner/html_text.hpp"

namespace streambed::runner {
namespace {

using nlohmann::json;

json sample() {
    const auto path = std::filesystem::path(STREAMBED_FIXTURES) / "reports" / "sample-report.json";
    std::ifstream in(path);
    EXPECT_TRUE(in) << path;
    return json::parse(in);
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
    return n;
}

// every substring from `open` to the following `close` (inclusive)
std::vector<std::string> pieces(const std::string& s, const std::string& open,
                                const std::string& close) {
    std::vector<std::string> out;
    for (auto p = s.find(open); p != std::string::npos; p = s.find(open, p + 1)) {
        const auto e = s.find(close, p + open.size());
        if (e == std::string::npos) break;
        out.push_back(s.substr(p, e + close.size() - p));
    }
    return out;
}

double attr(const std::string& element, const std::string& name) {
    std::smatch m;
    const std::regex re(" " + name + "=\"([-0-9.]+)\"");
    if (!std::regex_search(element, m, re)) {
        ADD_FAILURE() << "no " << name << " in " << element;
        return -1;
    }
    return std::stod(m[1]);
}

TEST(HtmlReport, HeaderHasTheVerdictAndTheReproduceLine) {
    const std::string html = render_html(sample());
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("<div class=\"badge fail\">FAIL</div>"), std::string::npos);
    EXPECT_EQ(html.find("badge pass"), std::string::npos);
    EXPECT_NE(html.find("<h1>partition-resume</h1>"), std::string::npos);
    EXPECT_NE(html.find("Clients lose the network for 8 s and resume with no gap."),
              std::string::npos);
    EXPECT_NE(html.find("<pre class=\"reproduce\"><code>build/streambed run "
                        "scenarios/partition-resume.json --seed 42</code></pre>"),
              std::string::npos);
    for (const char* meta :
         {"<dt>seed</dt><dd>42</dd>", "<dd>2026-11-30T04:10:00Z</dd>", "<dd>3.4 s</dd>",
          "<dd>60 s</dd>", "<dd>×20</dd>", "<dd>child process</dd>"}) {
        EXPECT_NE(html.find(meta), std::string::npos) << meta;
    }

    json passing = sample();
    passing["result"] = "pass";
    EXPECT_NE(render_html(passing).find("<div class=\"badge pass\">PASS</div>"), std::string::npos);
}

TEST(HtmlReport, OneRowPerExpectationWithItsStatusFailuresFirst) {
    const json report = sample();
    const std::string html = render_html(report);
    const auto rows = pieces(html, "<tr class=\"exp ", "</tr>");
    ASSERT_EQ(rows.size(), report["expectations"].size());
    EXPECT_NE(rows[0].find("status-fail"), std::string::npos) << rows[0];
    EXPECT_NE(rows[0].find(">FAIL<"), std::string::npos);
    EXPECT_NE(rows[0].find("reconnect_p99"), std::string::npos);
    EXPECT_NE(rows[0].find("&lt; 500 ms"), std::string::npos) << rows[0];
    EXPECT_NE(rows[0].find("900 ms"), std::string::npos) << rows[0];
    // each expectation has its own row, with its own status
    for (const auto& e : report["expectations"]) {
        const std::string metric = e["metric"], status = e["status"];
        int found = 0;
        for (const auto& row : rows) {
            if (row.find("<td>" + metric + "</td>") == std::string::npos) continue;
            ++found;
            EXPECT_NE(row.find("status-" + status), std::string::npos) << row;
        }
        EXPECT_EQ(found, 1) << metric;
    }
    const auto skipped = pieces(html, "<tr class=\"exp status-skipped", "</tr>");
    ASSERT_EQ(skipped.size(), 1u);
    EXPECT_NE(skipped[0].find("needs the server&#39;s process (--target)"), std::string::npos);
    EXPECT_NE(skipped[0].find(">—<"), std::string::npos);  // measured: null
    EXPECT_NE(html.find("1 failed</span> · <span class=\"count-other\">3 passed"),
              std::string::npos);
}

TEST(HtmlReport, ThreeChartsEachShadingEveryWindowWhereItIs) {
    const std::string html = render_html(sample());
    EXPECT_EQ(count(html, "<svg"), 3u);
    const auto svgs = pieces(html, "<svg", "</svg>");
    ASSERT_EQ(svgs.size(), 3u);
    for (const auto& svg : svgs) {
        const auto plot = pieces(svg, "<rect class=\"plot-area\"", "/>");
        ASSERT_EQ(plot.size(), 1u);
        const double px = attr(plot[0], "x"), pw = attr(plot[0], "width");
        const auto bands = pieces(svg, "<rect class=\"window-band\"", "/>");
        ASSERT_EQ(bands.size(), 2u) << svg;
        // x axis 0..60 s (the run's duration): partition 20..28 s, server kill 40..42 s
        EXPECT_NEAR(attr(bands[0], "x"), px + pw * 20 / 60, 0.2);
        EXPECT_NEAR(attr(bands[0], "width"), pw * 8 / 60, 0.2);
        EXPECT_NEAR(attr(bands[1], "x"), px + pw * 40 / 60, 0.2);
        EXPECT_NEAR(attr(bands[1], "width"), pw * 2 / 60, 0.2);
        EXPECT_NE(svg.find(">partition portal 8s</text>"), std::string::npos);
        EXPECT_NE(svg.find(">server killed, down 2s</text>"), std::string::npos);
        EXPECT_NE(svg.find(">simulated time (s)</text>"), std::string::npos);
        EXPECT_GE(count(svg, "class=\"tick\""), 8u);  // labelled ticks on both axes
    }
    // lateness: three lines with a legend, on a log axis labelled in ms
    EXPECT_EQ(count(svgs[0], "class=\"series-line\""), 3u);
    for (const char* name : {">p50</text>", ">p99</text>", ">p99.9</text>", "(ms, log scale)"}) {
        EXPECT_NE(svgs[0].find(name), std::string::npos) << name;
    }
    EXPECT_EQ(count(svgs[1], "class=\"series-line\""), 1u);
    EXPECT_NE(svgs[1].find(">delivered msgs/s</text>"), std::string::npos);
    EXPECT_EQ(count(svgs[2], "class=\"series-line\""), 1u);
    EXPECT_NE(svgs[2].find(">fleet: 250</text>"), std::string::npos);  // 200 + 50 clients
}

TEST(HtmlReport, NullPointsBreakTheLine) {
    const auto svgs = pieces(render_html(sample()), "<svg", "</svg>");
    ASSERT_EQ(svgs.size(), 3u);
    // the lateness series are null at 40 and 41 s (server down): two segments each
    const auto paths = pieces(svgs[0], "<path class=\"series-line\" d=\"", "\"");
    ASSERT_EQ(paths.size(), 3u);
    for (const auto& d : paths) EXPECT_EQ(count(d, "M"), 2u) << d;
    // the connected series has no null: one segment of 60 points
    const auto conn = pieces(svgs[2], "<path class=\"series-line\" d=\"", "\"");
    ASSERT_EQ(conn.size(), 1u);
    EXPECT_EQ(count(conn[0], "M"), 1u);
    EXPECT_EQ(count(conn[0], "L"), 59u);
}

TEST(HtmlReport, AnInstantIsAVerticalLine) {
    json report = sample();
    report["timeline"].push_back(
        {{"at_s", 50}, {"until_s", 50}, {"kind", "server_restart"}, {"label", "restart"}});
    report["timeline"].push_back({{"at_s", 55}, {"kind", "note"}, {"label", "no until_s"}});
    const std::string html = render_html(report);
    EXPECT_EQ(count(html, "class=\"window-band\""), 6u);
    EXPECT_EQ(count(html, "class=\"window-line\""), 6u);
}

TEST(HtmlReport, GroupsAndTimelineAreListed) {
    json report = sample();
    report["groups"][1]["custom_metric"] = 7;
    std::swap(report["timeline"][0], report["timeline"][1]);  // out of order
    const std::string html = render_html(report);
    EXPECT_NE(html.find("<th class=\"num\">portal</th><th class=\"num\">traders</th>"),
              std::string::npos);
    for (const char* row :
         {"<th>messages delivered</th><td class=\"num\">123,456</td><td class=\"num\">29,410</td>",
          "<th>delivery ratio</th><td class=\"num\">1</td><td class=\"num\">0.9995</td>",
          "<th>closes (code × count)</th><td class=\"num\">1006 × 400, 1013 × 3</td>",
          "<th>lateness p99.9 (ms)</th><td class=\"num\">7,890</td>",
          "<th>reconnect time max (ms)</th><td class=\"num\">1,200</td>",
          "<th>custom_metric</th><td class=\"num\">—</td><td class=\"num\">7</td>"}) {
        EXPECT_NE(html.find(row), std::string::npos) << row;
    }
    const auto items = pieces(html, "<li>", "</li>");
    ASSERT_EQ(items.size(), 2u);
    EXPECT_NE(items[0].find("20 s → 28 s"), std::string::npos) << items[0];
    EXPECT_NE(items[0].find("partition portal 8s"), std::string::npos);
    EXPECT_NE(items[1].find("40 s → 42 s"), std::string::npos) << items[1];
}

TEST(HtmlReport, EveryStringFromTheReportIsEscaped) {
    json report = sample();
    report["scenario"] = "<script>alert(1)</script>";
    report["description"] = "a \"quoted\" & <b>bold</b> claim";
    report["reproduce"] = "run </code></pre><script>x</script>";
    report["groups"][0]["name"] = "<script>g</script>";
    report["expectations"][0]["metric"] = "<script>m</script>";
    report["expectations"][4]["reason"] = "<img src=x onerror=alert(1)>";
    report["timeline"][0]["label"] = "<script>w</script>";
    report["timeline"][1]["kind"] = "\"><script>k</script>";
    const std::string html = render_html(report);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("<img"), std::string::npos);
    EXPECT_EQ(html.find("<b>bold"), std::string::npos);
    EXPECT_NE(html.find("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"), std::string::npos);
    EXPECT_NE(html.find("a &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt; claim"),
              std::string::npos);
    EXPECT_GE(count(html, "&lt;script&gt;w&lt;/script&gt;"), 4u);  // three charts and the list
    EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
}

TEST(HtmlReport, FetchesNothingFromTheNetwork) {
    json report = sample();
    report["target"] = "ws://127.0.0.1:8080";
    report["description"] = "see https://example.com/doc";
    const std::string html = render_html(report);
    const std::regex remote(R"((src|href)\s*=\s*["']?\s*(https?:)?//)", std::regex::icase);
    EXPECT_FALSE(std::regex_search(html, remote));
    for (const char* fetcher : {"<script", "<link", "<img", "<iframe", "@import", "url("}) {
        EXPECT_EQ(html.find(fetcher), std::string::npos) << fetcher;
    }
    EXPECT_NE(html.find("<style>"), std::string::npos);  // the CSS is inline
}

// no exception, a whole page, and no "nan"/"inf" where a number should be
void expect_renders(const json& report, const std::string& what) {
    std::string html;
    EXPECT_NO_THROW(html = render_html(report)) << what;
    EXPECT_NE(html.find("</html>"), std::string::npos) << what;
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(\b-?(nan|inf)\b)"))) << what;
}

TEST(HtmlReport, OddReportsRenderWithoutThrowing) {
    expect_renders(json(), "null");
    expect_renders(json::array({1, 2}), "array");
    expect_renders("report", "string");
    expect_renders(json::object(), "empty object");
    const json odd = json::parse(R"({
        "scenario": 42, "result": null, "seed": "abc", "time_scale": "fast", "duration_s": -5,
        "groups": {"not": "an array"},
        "expectations": [null, "x", 3, {"status": 7, "threshold": {"a": 1}, "measured": [1, 2]},
                         {"op": "<", "measured": 1e308, "threshold": -1e-300}],
        "timeline": [null, {"at_s": null, "until_s": 3}, {"at_s": "5"}, {"at_s": 9, "until_s": 2},
                     {"at_s": 1e300, "until_s": -1e300}],
        "series": {"t": [0, null, "2", 3], "connected": [1, 2], "msgs_per_s": "many",
                   "lateness_p50_ms": [0, -1, null, 1e-320, 5],
                   "lateness_p99_ms": [null, null, null, null]}
    })");
    expect_renders(odd, "mistyped fields");
    // one point and nothing else: the axes cannot take their range from the data
    expect_renders(json::parse(R"({"series": {"t": [0], "connected": [0],
                                              "lateness_p50_ms": [0]}})"),
                   "one point");
    json groups = sample();
    groups["groups"] = json::array({nullptr, 1, {{"name", nullptr}, {"closes", {1, 2}}}});
    expect_renders(groups, "odd groups");

    json invalid_utf8 = sample();
    invalid_utf8["scenario"] = std::string("bad \xC3\x28 \xFF byte");
    invalid_utf8["groups"][0]["extra"] = {{"k", std::string("\xFF")}};
    std::string html;
    EXPECT_NO_THROW(html = render_html(invalid_utf8));
    EXPECT_NE(html.find("bad \xEF\xBF\xBD( \xEF\xBF\xBD byte"), std::string::npos);
}

TEST(HtmlReport, AbsentSeriesGiveNoChartEmptySeriesGiveAnEmptyOne) {
    json report = sample();
    report.erase("series");
    std::string html = render_html(report);
    EXPECT_EQ(count(html, "<svg"), 0u);
    EXPECT_NE(html.find("no series; no charts"), std::string::npos);

    report = sample();
    report["series"].erase("t");
    EXPECT_EQ(count(render_html(report), "<svg"), 0u);

    report = sample();
    report["series"].erase("msgs_per_s");
    report["series"].erase("lateness_p99_ms");
    html = render_html(report);
    EXPECT_EQ(count(html, "<svg"), 2u);
    EXPECT_EQ(count(html, "class=\"series-line\""), 3u);  // p50, p99.9, connected

    const json keys = sample()["series"];
    for (const auto& item : keys.items()) report["series"][item.key()] = json::array();
    html = render_html(report);
    EXPECT_EQ(count(html, "<svg"), 3u);
    EXPECT_EQ(count(html, ">no samples</text>"), 3u);
    EXPECT_EQ(count(html, "class=\"window-band\""), 6u);  // the windows still show

    for (const auto& item : keys.items()) report["series"][item.key()] = {nullptr};
    report["series"]["t"] = {0};
    report["series"]["connected"] = {5};
    html = render_html(report);
    EXPECT_EQ(count(html, "<circle"), 1u);             // a lone point is a dot
    EXPECT_EQ(count(html, ">no samples</text>"), 2u);  // lateness and msgs/s: all null
}

TEST(HtmlText, EscapesAndFormats) {
    EXPECT_EQ(escape_html("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    EXPECT_EQ(escape_html("é ✓ \xF0\x9F\x98\x80"), "é ✓ \xF0\x9F\x98\x80");
    const std::string fffd = "\xEF\xBF\xBD";  // U+FFFD, one per byte that is not UTF-8
    EXPECT_EQ(escape_html("x\xC0\xAFy\x01z\xED\xA0\x80"),
              "x" + fffd + fffd + "yz" + fffd + fffd + fffd);
    EXPECT_EQ(format_number(123456), "123,456");
    EXPECT_EQ(format_number(-1234.6), "-1,235");
    EXPECT_EQ(format_number(8.5), "8.5");
    EXPECT_EQ(format_number(48.0), "48");
    EXPECT_EQ(format_number(0.9995), "0.9995");
    EXPECT_EQ(format_number(0.99995), "0.99995");
    EXPECT_EQ(format_number(NAN), "—");
    EXPECT_EQ(format_compact(40000), "40k");
    EXPECT_EQ(format_compact(1500000), "1.5M");
    EXPECT_EQ(format_compact(0.2), "0.2");
}

TEST(HtmlReport, AClustersFactsAreListedInOrderAndEscaped) {
    auto report = sample();
    EXPECT_EQ(render_html(report).find("<h2>Cluster</h2>"), std::string::npos)
        << "no section without a cluster";
    report["cluster"] = {{"facts",
                          {"15.0s node 0 killed (SIGKILL) (the source)",
                           "16.1s failover: node 2 took over <fast>"}}};
    const std::string html = render_html(report);
    const auto section = html.find("<h2>Cluster</h2>");
    ASSERT_NE(section, std::string::npos);
    const auto first = html.find("15.0s node 0 killed", section);
    const auto second = html.find("16.1s failover: node 2 took over &lt;fast&gt;", section);
    EXPECT_NE(first, std::string::npos);
    EXPECT_NE(second, std::string::npos);
    EXPECT_LT(first, second);
}

}  // namespace
}  // namespace streambed::runner
