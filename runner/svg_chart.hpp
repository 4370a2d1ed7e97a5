// svg_chart.hpp: one time-series chart as inline SVG for the HTML report — lines over simulated
// time with axes, ticks, a legend, and the timeline's fault windows shaded behind them (a
// translucent band from at_s to until_s, a vertical line when the window has no length), so a
// fault and its effect sit on one picture. Hand-written SVG, no script.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streambed::runner {

struct ChartLine {
    std::string name;   // legend text
    std::string color;  // a CSS colour chosen by the caller (not from the report)
    std::vector<std::optional<double>> y;  // one per point of ChartSpec::t; nullopt breaks the line
};

struct ChartWindow {
    double at_s = 0;
    double until_s = 0;  // == at_s: an instant (drawn as a line)
    std::string kind;    // picks the colour (window_color)
    std::string label;
};

struct ChartReference {  // a dashed horizontal line, e.g. the fleet's size
    double value = 0;
    std::string label;
};

struct ChartSpec {
    std::string title;                     // the SVG's <title>
    std::string y_label;                   // along the y axis
    bool log_y = false;                    // log10 y axis; values <= 0 sit on its floor
    std::vector<std::optional<double>> t;  // x of each point, simulated seconds
    std::vector<ChartLine> lines;
    std::vector<ChartWindow> windows;
    double x_end = 0;  // the x axis reaches at least this far (the run's duration)
    std::optional<ChartReference> reference;
};

// The chart as an <svg> element (no XML declaration); every string in `spec` is escaped.
// The plot area is marked class="plot-area", each window class="window-band" (a rect) or
// class="window-line" (an instant), each line class="series-line".
std::string render_svg_chart(const ChartSpec& spec);

// The fill colour of a timeline window of this kind (partitions, server faults, the rest).
std::string window_color(std::string_view kind);

}  // namespace streambed::runner
