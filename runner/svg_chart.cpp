// svg_chart.cpp: renders one time-series chart as inline SVG (see svg_chart.hpp).
#include "runner/svg_chart.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "runner/html_text.hpp"

namespace streambed::runner {
namespace {

constexpr double kWidth = 960, kHeight = 300;
constexpr double kLeft = 68, kRight = 18, kTop = 34, kBottom = 42;
constexpr double kPlotW = kWidth - kLeft - kRight, kPlotH = kHeight - kTop - kBottom;
constexpr double kCharW = 6.2;  // rough width of one character of the 11px labels

std::string n1(double v) {
    return fmt::format("{:.1f}", v);
}

// 1, 2 or 5 times a power of ten, near `rough`.
double nice_step(double rough) {
    if (!(rough > 0) || !std::isfinite(rough)) return 1;
    const double p = std::pow(10.0, std::floor(std::log10(rough)));
    const double f = rough / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

struct Axis {
    double lo = 0, hi = 1;
    bool log = false;
    std::vector<double> ticks;
    // 0..1 along the axis; log axes put values <= lo on the floor
    double frac(double v) const {
        if (log) {
            const double lv = std::log10(std::max(v, lo));
            return (lv - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
        }
        return (v - lo) / (hi - lo);
    }
};

Axis linear_axis(double lo, double hi, int target_ticks) {
    Axis a;
    if (!(hi > lo)) hi = lo + 1;
    const double step = nice_step((hi - lo) / target_ticks);
    a.lo = std::floor(lo / step + 1e-9) * step;
    a.hi = std::ceil(hi / step - 1e-9) * step;
    if (!(a.hi > a.lo)) a.hi = a.lo + step;
    for (int i = 0; i <= 100; ++i) {
        const double v = a.lo + i * step;
        if (v > a.hi + step * 1e-6) break;
        a.ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    }
    return a;
}

Axis log_axis(double min_positive, double max_positive) {
    Axis a;
    a.log = true;
    if (!(min_positive > 0) || !(max_positive > 0)) min_positive = 1, max_positive = 10;
    int e_lo = static_cast<int>(std::floor(std::log10(min_positive) + 1e-9));
    const int e_hi =
        std::max(static_cast<int>(std::ceil(std::log10(max_positive) - 1e-9)), e_lo + 1);
    e_lo = std::max(e_lo, e_hi - 9);  // at most nine decades; smaller values sit on the floor
    a.lo = std::pow(10.0, e_lo);
    a.hi = std::pow(10.0, e_hi);
    for (int e = e_lo; e <= e_hi; ++e) {
        const double d = std::pow(10.0, e);
        a.ticks.push_back(d);
        if (e_hi - e_lo <= 2 && e < e_hi) {
            a.ticks.push_back(2 * d);
            a.ticks.push_back(5 * d);
        }
    }
    return a;
}

std::string tick_label(double v, double step) {
    if (step >= 1 || v == 0) return format_compact(v);
    return fmt::format("{:.{}f}", v, std::min(6, static_cast<int>(std::ceil(-std::log10(step)))));
}

}  // namespace

std::string window_color(std::string_view kind) {
    if (kind == "partition") return "#f59e0b";
    if (kind.substr(0, 6) == "server" || kind.substr(0, 4) == "node") return "#64748b";
    if (kind.substr(0, 5) == "redis") return "#7c3aed";
    return "#db2777";
}

std::string render_svg_chart(const ChartSpec& spec) {
    // x domain: from 0 (or earlier data) to the last point, window or the run's end
    double x_lo = 0, x_hi = std::isfinite(spec.x_end) ? spec.x_end : 0;
    const auto widen_x = [&](double v) {
        if (!std::isfinite(v)) return;
        x_lo = std::min(x_lo, v);
        x_hi = std::max(x_hi, v);
    };
    for (const auto& t : spec.t) {
        if (t) widen_x(*t);
    }
    for (const auto& w : spec.windows) widen_x(w.at_s), widen_x(w.until_s);
    if (!(x_hi > x_lo)) x_hi = x_lo + 1;
    const Axis xa = linear_axis(x_lo, x_hi, 10);

    // y domain from every drawable point (and the reference line)
    double y_min = INFINITY, y_max = -INFINITY, y_min_pos = INFINITY;
    std::size_t drawable = 0;
    const auto widen_y = [&](double v) {
        y_min = std::min(y_min, v);
        y_max = std::max(y_max, v);
        if (v > 0) y_min_pos = std::min(y_min_pos, v);
    };
    const auto point = [&](const ChartLine& l, std::size_t i) -> std::optional<double> {
        if (i >= spec.t.size() || i >= l.y.size() || !spec.t[i] || !l.y[i]) return std::nullopt;
        if (!std::isfinite(*spec.t[i]) || !std::isfinite(*l.y[i])) return std::nullopt;
        return l.y[i];
    };
    for (const auto& l : spec.lines) {
        for (std::size_t i = 0; i < l.y.size(); ++i) {
            if (auto y = point(l, i)) widen_y(*y), ++drawable;
        }
    }
    const bool has_ref = spec.reference && std::isfinite(spec.reference->value);
    if (has_ref) widen_y(spec.reference->value);
    Axis ya;
    if (spec.log_y) {
        ya = log_axis(y_min_pos, y_max);
    } else {
        const double lo = std::isfinite(y_min) ? std::min(0.0, y_min) : 0;
        const double hi = std::isfinite(y_max) ? y_max : 1;
        ya = linear_axis(lo, hi + (hi - lo) * 0.05, 5);  // headroom: a flat top stays visible
    }
    const auto px = [&](double x) { return kLeft + xa.frac(x) * kPlotW; };
    const auto py = [&](double y) { return kTop + kPlotH - ya.frac(y) * kPlotH; };

    const std::string title = escape_html(spec.title);
    std::string s =
        fmt::format(R"(<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}">)"
                    "<title>{}</title>\n",
                    kWidth, kHeight, title, title);
    s += fmt::format(R"(<rect class="plot-area" x="{}" y="{}" width="{}" height="{}" )"
                     R"(fill="#fff" stroke="#c8ccd2"/>)"
                     "\n",
                     n1(kLeft), n1(kTop), n1(kPlotW), n1(kPlotH));

    // grid and tick labels
    const double y_step = ya.ticks.size() > 1 ? ya.ticks[1] - ya.ticks[0] : 1;
    for (double v : ya.ticks) {
        const double y = py(v);
        s += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e5e7eb"/>)",
                         n1(kLeft), n1(kLeft + kPlotW), n1(y), n1(y));
        s += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>)"
                         "\n",
                         n1(kLeft - 6), n1(y + 4),
                         ya.log ? format_compact(v) : tick_label(v, y_step));
    }
    const double x_step = xa.ticks.size() > 1 ? xa.ticks[1] - xa.ticks[0] : 1;
    for (double v : xa.ticks) {
        const double x = px(v);
        s += fmt::format(R"(<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#e5e7eb"/>)",
                         n1(x), n1(x), n1(kTop), n1(kTop + kPlotH));
        s += fmt::format(R"(<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>)"
                         "\n",
                         n1(x), n1(kTop + kPlotH + 15), tick_label(v, x_step));
    }
    s += fmt::format(R"(<text class="axis-label" x="{}" y="{}" text-anchor="middle">)"
                     "simulated time (s)</text>\n",
                     n1(kLeft + kPlotW / 2), n1(kHeight - 6));
    s += fmt::format(
        "<text class=\"axis-label\" transform=\"translate(14 {}) rotate(-90)\" "
        R"(text-anchor="middle">{}</text>)"
        "\n",
        n1(kTop + kPlotH / 2), escape_html(spec.y_label));

    // the fault windows, behind the lines; labels later, above them
    std::string labels;
    std::vector<double> row_end(3, -INFINITY);
    for (const auto& w : spec.windows) {
        if (!std::isfinite(w.at_s)) continue;
        const double a = std::isfinite(w.until_s) ? std::min(w.at_s, w.until_s) : w.at_s;
        const double b = std::isfinite(w.until_s) ? std::max(w.at_s, w.until_s) : w.at_s;
        const double x0 = px(a), x1 = px(b);
        const std::string color = window_color(w.kind), label = escape_html(w.label);
        s += fmt::format(R"(<g class="window"><title>{}</title>)", label);
        if (x1 - x0 >= 0.5) {
            s += fmt::format(R"(<rect class="window-band" x="{}" y="{}" width="{}" height="{}" )"
                             R"(fill="{}" fill-opacity="0.2"/>)",
                             n1(x0), n1(kTop), n1(x1 - x0), n1(kPlotH), color);
        } else {
            s += fmt::format(R"(<line class="window-line" x1="{}" x2="{}" y1="{}" y2="{}" )"
                             R"(stroke="{}" stroke-width="2" stroke-opacity="0.7"/>)",
                             n1(x0), n1(x0), n1(kTop), n1(kTop + kPlotH), color);
        }
        s += "</g>\n";
        // the label in the first row where it does not overlap an earlier one
        const double width = static_cast<double>(w.label.size()) * kCharW;
        double lx = std::min(x0 + 3, kLeft + kPlotW - width - 2);
        lx = std::max(lx, kLeft + 2);
        std::size_t row = 0;
        while (row + 1 < row_end.size() && row_end[row] > lx) ++row;
        row_end[row] = lx + width + 6;
        labels += fmt::format(R"(<text class="window-label" x="{}" y="{}">{}</text>)"
                              "\n",
                              n1(lx), n1(kTop + 13 + 13 * static_cast<double>(row)), label);
    }

    if (has_ref) {
        const double y = py(spec.reference->value);
        s += fmt::format(
            R"(<line class="reference" x1="{}" x2="{}" y1="{}" y2="{}" stroke="#6b7280" )"
            R"(stroke-dasharray="5 4"/>)",
            n1(kLeft), n1(kLeft + kPlotW), n1(y), n1(y));
        s += fmt::format(R"(<text class="window-label" x="{}" y="{}" text-anchor="end">{}</text>)"
                         "\n",
                         n1(kLeft + kPlotW - 4), n1(y - 4), escape_html(spec.reference->label));
    }

    // the lines: a null (or a point off the time axis) ends a segment; lone points are dots
    for (const auto& l : spec.lines) {
        std::string d, dots;
        std::size_t run = 0;  // points in the current segment
        double last_x = 0, last_y = 0;
        const auto end_run = [&] {
            if (run == 1) {
                dots += fmt::format(R"(<circle cx="{}" cy="{}" r="2.5" fill="{}"/>)", n1(last_x),
                                    n1(last_y), l.color);
            }
            run = 0;
        };
        for (std::size_t i = 0; i < l.y.size(); ++i) {
            const auto y = point(l, i);
            if (!y) {
                end_run();
                continue;
            }
            last_x = px(*spec.t[i]);
            last_y = py(*y);
            d += fmt::format("{}{} {} ", run == 0 ? 'M' : 'L', n1(last_x), n1(last_y));
            ++run;
        }
        end_run();
        if (!d.empty()) {
            d.pop_back();
            s += fmt::format(
                R"(<path class="series-line" d="{}" stroke="{}" fill="none" stroke-width="1.8" )"
                R"(stroke-linejoin="round"/>)",
                d, l.color);
        }
        s += dots + "\n";
    }
    s += labels;
    if (drawable == 0) {
        s += fmt::format(R"(<text class="no-data" x="{}" y="{}" text-anchor="middle">)"
                         "no samples</text>\n",
                         n1(kLeft + kPlotW / 2), n1(kTop + kPlotH / 2));
    }

    // legend, above the plot
    double lx = kLeft;
    for (const auto& l : spec.lines) {
        s += fmt::format(R"(<line x1="{}" x2="{}" y1="18" y2="18" stroke="{}" stroke-width="3"/>)",
                         n1(lx), n1(lx + 18), l.color);
        s += fmt::format(R"(<text class="legend" x="{}" y="22">{}</text>)", n1(lx + 23),
                         escape_html(l.name));
        lx += 40 + static_cast<double>(l.name.size()) * 7;
    }
    s += "</svg>";
    return s;
}

}  // namespace streambed::runner
