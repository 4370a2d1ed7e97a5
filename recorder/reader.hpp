// reader.hpp: what `inspect` and `export` read out of a recording.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

namespace streambed::recorder {

// Runs, sessions, streams, frame counts, sizes and time span; throws RecordingError.
nlohmann::ordered_json inspect(const std::string& path);
// Human-readable form of inspect()'s result.
std::string describe(const nlohmann::ordered_json& summary);
// One JSON object per frame and line, in (run, session, frame) order; `run` filters.
// Returns the number of lines written; throws RecordingError.
std::uint64_t export_jsonl(const std::string& path, std::optional<std::int64_t> run,
                           std::ostream& out);

// A HAR 1.2 log: one websocket entry per session, its frames in `_webSocketMessages`
// (type send/receive, time in seconds, opcode 1, data), so browser tools can open it.
// A batch frame is rebuilt as its JSON array. Returns the number of sessions written.
std::uint64_t export_har(const std::string& path, std::optional<std::int64_t> run,
                         std::ostream& out);

}  // namespace streambed::recorder
