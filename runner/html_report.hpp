// html_report.hpp: renders a run's report (the JSON `streambed run --report` writes) as one
// self-contained HTML page for `--html`: header with the verdict and the reproduce line, the
// expectations, charts of the series with the timeline's fault windows shaded, the per-group
// numbers and the timeline.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
namespace streambed::runner {
// The report as one self-contained HTML page: inline CSS and SVG, no script or font or image
// fetched from anywhere, viewable offline. Never throws on a report with missing or odd fields
// (renders what it can; absent series give no chart).
std::string render_html(const nlohmann::json& report);
}  // namespace streambed::runner
