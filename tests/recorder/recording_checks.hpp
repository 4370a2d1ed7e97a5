// recording_checks.hpp: what the recorder tests ask of a recording file — one value by SQL
// (read-only), the export as JSON lines, its outbound frames as verify observes them, and the
// message of the RecordingError an action throws.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "recorder/verify.hpp"
#include "tests/support/temp_db.hpp"

namespace streambed::testing {

// Read-only: a check never changes the file it checks.
inline std::int64_t scalar(const std::string& path, const std::string& sql) {
    return sql_int(path, sql, SqlOpen::read_only);
}

inline std::vector<nlohmann::json> exported(const std::string& path) {
    std::stringstream out;
    recorder::export_jsonl(path, std::nullopt, out);
    std::vector<nlohmann::json> lines;
    std::string line;
    while (std::getline(out, line)) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

// The outbound frames of a recording exactly as recorded, at their instants: what a re-drive
// that changed nothing observes (verify's comparison tests change it from there).
inline recorder::Observed observed_as_recorded(const std::string& path) {
    recorder::Observed o;
    for (const auto& j : exported(path))
        if (j["dir"] == "out")
            o.frames.push_back({j["wallUs"].get<std::int64_t>(), j["payload"].get<std::string>()});
    return o;
}

inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const recorder::RecordingError& e) {
        return e.what();
    }
    return "";
}

}  // namespace streambed::testing
