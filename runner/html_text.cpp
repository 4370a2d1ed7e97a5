// html_text.cpp: escaping, number formatting and tolerant field reading for the HTML report
// (see html_text.hpp).
#include "runner/html_text.hpp"

#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace streambed::runner {
namespace {

using nlohmann::json;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i] (2..4), or 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char lead = b(0);
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        len = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        len = 3;
        if (lead == 0xE0) lo = 0xA0;  // overlong
        if (lead == 0xED) hi = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        len = 4;
        if (lead == 0xF0) lo = 0x90;  // overlong
        if (lead == 0xF4) hi = 0x8F;  // beyond U+10FFFF
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    if (b(1) < lo || b(1) > hi) return 0;
    for (std::size_t k = 2; k < len; ++k) {
        if (b(k) < 0x80 || b(k) > 0xBF) return 0;
    }
    return len;
}

std::string with_separators(double rounded) {
    const bool negative = rounded < 0;
    std::string digits = fmt::format("{:.0f}", std::fabs(rounded));
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return negative ? "-" + out : out;
}

const json& null_json() {
    static const json n;
    return n;
}

}  // namespace

std::string escape_html(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                case '\'':
                    out += "&#39;";
                    break;
                case '\t':
                case '\n':
                    out += static_cast<char>(c);
                    break;
                default:
                    if (c >= 0x20 && c != 0x7F) out += static_cast<char>(c);
            }
            ++i;
            continue;
        }
        if (const std::size_t len = utf8_sequence(text, i); len > 0) {
            out.append(text.substr(i, len));
            i += len;
        } else {
            out += kReplacement;
            ++i;
        }
    }
    return out;
}

std::string format_number(double v) {
    if (!std::isfinite(v)) return "—";
    const double a = std::fabs(v);
    if (a >= 1000 || (v == std::floor(v) && a < 1e15)) {
        if (a >= 1e15) return fmt::format("{:.4g}", v);
        return with_separators(std::round(v));
    }
    if (a >= 1) {
        std::string s = fmt::format("{:.2f}", v);
        while (s.back() == '0') s.pop_back();
        if (s.back() == '.') s.pop_back();
        return s;
    }
    return fmt::format("{:.6g}", v);
}

std::string format_compact(double v) {
    if (!std::isfinite(v)) return "—";
    const double a = std::fabs(v);
    if (a >= 1e9) return fmt::format("{:.3g}G", v / 1e9);
    if (a >= 1e6) return fmt::format("{:.3g}M", v / 1e6);
    if (a >= 1e3) return fmt::format("{:.3g}k", v / 1e3);
    if (a < 1e-12) return "0";
    return fmt::format("{:.3g}", v);
}

const json& field(const json& obj, const char* key) {
    if (!obj.is_object()) return null_json();
    const auto it = obj.find(key);
    return it == obj.end() ? null_json() : *it;
}

std::vector<const json*> elements(const json& v) {
    std::vector<const json*> out;
    if (v.is_array()) {
        for (const auto& e : v) out.push_back(&e);
    }
    return out;
}

std::optional<double> number(const json& v) {
    if (!v.is_number()) return std::nullopt;
    const double d = v.get<double>();
    return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
}

std::string plain(const json& v) {
    if (v.is_string()) return v.get_ref<const std::string&>();
    if (auto d = number(v)) return format_number(*d);
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    return "";
}

std::string cell(const json& v) {
    if (v.is_object() || v.is_array()) {
        return escape_html(v.dump(-1, ' ', false, json::error_handler_t::replace));
    }
    const std::string p = plain(v);
    return p.empty() ? "—" : escape_html(p);
}

}  // namespace streambed::runner
