// html_style.hpp: the stylesheet inlined into the HTML report's <style> — light, readable,
// system fonts only (nothing fetched), status colours, print rules that keep charts whole.
#pragma once

#include <string_view>

namespace streambed::runner {

inline constexpr std::string_view kReportCss = R"(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #1f2328; background: #f6f8fa; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; }
header { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px; }
h1 { margin: 0 0 4px; font-size: 1.9rem; overflow-wrap: anywhere; }
h2 { margin: 32px 0 10px; font-size: 1.3rem; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
h3 { margin: 0 0 4px; font-size: 1rem; }
.description { margin: 0; color: #57606a; }
.badge { font-size: 2.2rem; font-weight: 800; letter-spacing: .06em; color: #fff; padding: 6px 22px;
         border-radius: 8px; white-space: nowrap; }
.badge.pass { background: #1a7f37; } .badge.fail { background: #cf222e; } .badge.unknown { background: #6e7781; }
.meta { display: flex; flex-wrap: wrap; gap: 6px 28px; margin: 16px 0 12px; }
.meta dt { font-size: .75rem; text-transform: uppercase; color: #57606a; }
.meta dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
div.reproduce span { font-size: .75rem; text-transform: uppercase; color: #57606a; }
pre.reproduce { margin: 2px 0 0; padding: 10px 12px; background: #f6f8fa; border: 1px solid #d0d7de;
                border-radius: 6px; white-space: pre-wrap; overflow-wrap: anywhere; user-select: all;
                font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { padding: 5px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; font-size: .8rem; text-transform: uppercase; color: #57606a; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.groups thead th { text-transform: none; font-size: .9rem; color: #1f2328; }
.groups tbody th { font-weight: 500; color: #57606a; white-space: nowrap; }
td.bad { color: #cf222e; font-weight: 700; }
.scroll { overflow-x: auto; }
.summary { margin: 0 0 8px; } .count-fail { color: #cf222e; font-weight: 700; }
tr.status-pass td.status { color: #1a7f37; background: #dafbe1; font-weight: 700; }
tr.status-fail td { background: #fff0f0; } tr.status-fail td.status { color: #fff; background: #cf222e; font-weight: 700; }
tr.status-skipped td { color: #6e7781; } tr.status-skipped td.status { background: #eaeef2; font-weight: 700; }
tr.status-unknown td.status { background: #fff8c5; font-weight: 700; }
td.reason { font-style: italic; color: #57606a; }
figure.chart { margin: 18px 0; break-inside: avoid; page-break-inside: avoid; }
svg.chart { width: 100%; height: auto; display: block; font-family: inherit; }
svg .tick { font-size: 11px; fill: #57606a; } svg .axis-label { font-size: 12px; fill: #1f2328; }
svg .legend { font-size: 12px; fill: #1f2328; } svg .no-data { font-size: 14px; fill: #8c959f; }
svg .window-label { font-size: 11px; fill: #1f2328; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
figcaption { font-size: .8rem; color: #57606a; }
.timeline { padding-left: 22px; } .timeline li { margin: 3px 0; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 8px;
          vertical-align: -1px; opacity: .7; }
.when { font-variant-numeric: tabular-nums; } .dur { color: #57606a; }
.note { color: #57606a; font-style: italic; }
footer { margin-top: 36px; font-size: .75rem; color: #8c959f; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print { body { background: #fff; } main { max-width: none; padding: 0; } h2 { break-after: avoid; } }
)";

}  // namespace streambed::runner
