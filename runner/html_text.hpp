// html_text.hpp: text helpers shared by the HTML report and its SVG charts — escaping of any
// string for HTML/SVG text and attribute values (invalid UTF-8 and control characters made
// harmless), number formatting for tables and axis ticks (never "nan" or "inf"), and tolerant
// reading of report fields (a missing, null or mistyped field reads as absent, never throws).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace streambed::runner {

// `text` safe inside HTML/SVG text and quoted attributes: & < > " ' as entities, bytes that
// are not valid UTF-8 as U+FFFD, control characters other than tab and newline dropped.
std::string escape_html(std::string_view text);

// A value for a table: "123,456" (integers, and anything from 1000 up), "8.5" (at most two
// decimals from 1 up), "0.9995" (six significant digits below 1), "—" when not finite.
std::string format_number(double v);

// A value for an axis tick: "40k", "1.5M", "0.2", "1" (three significant digits).
std::string format_compact(double v);

// obj[key]; a null when obj is not an object or has no such key.
const nlohmann::json& field(const nlohmann::json& obj, const char* key);

// The elements of an array; none for anything else.
std::vector<const nlohmann::json*> elements(const nlohmann::json& v);

// A finite number; nullopt for anything else.
std::optional<double> number(const nlohmann::json& v);

// A scalar as plain (unescaped) text, numbers by format_number; "" for null, objects, arrays.
std::string plain(const nlohmann::json& v);

// Any value as escaped HTML: scalars as text, "—" when absent, structures as compact JSON.
std::string cell(const nlohmann::json& v);

}  // namespace streambed::runner
