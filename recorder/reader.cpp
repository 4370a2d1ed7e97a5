// reader.cpp: read-only queries over a recording.
#include "recorder/reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <ctime>
#include <vector>

#include "engine/access.hpp"
#include "recorder/schema.hpp"
#include "recorder/statement.hpp"

namespace streambed::recorder {
using ojson = nlohmann::ordered_json;

namespace {

ojson opt_int(Query& q, int col) {
    return q.is_null(col) ? ojson(nullptr) : ojson(q.i(col));
}

// An export of a run the file does not hold is refused, as replay and verify refuse it.
void require_run(sqlite3* db, const std::string& path, std::optional<std::int64_t> run) {
    if (!run) return;
    Query q(db, "SELECT count(*) FROM run WHERE id = ?");
    q.bind(1, *run);
    if (!q.next() || q.i(0) == 0) throw RecordingError(fmt::format("{}: no run {}", path, *run));
}

}  // namespace

ojson inspect(const std::string& path) {
    Db db = open_for_reading(path);
    struct stat st {};
    ::stat(path.c_str(), &st);
    ojson out = {{"file", path},
                 {"bytes", static_cast<std::int64_t>(st.st_size)},
                 {"schemaVersion", kSchemaVersion}};
    ojson runs = ojson::array();
    Query r(db.get(),
            "SELECT id, started_us, ended_us, version, seed, config, complete, dropped_frames, "
            "error FROM run ORDER BY id");
    while (r.next()) {
        const auto id = r.i(0);
        ojson run = {
            {"id", id},
            {"startedUs", r.i(1)},
            {"endedUs", opt_int(r, 2)},
            {"version", r.str(3)},
            {"seed", opt_int(r, 4)},
            {"config", r.is_null(5) ? ojson(nullptr) : ojson::parse(r.str(5), nullptr, false)},
            {"complete", r.i(6) == 1},
            {"droppedFrames", r.i(7)},
            {"error", r.is_null(8) ? ojson(nullptr) : ojson(r.str(8))}};
        Query streams(db.get(),
                      "SELECT s.endpoint, s.channel, count(m.seq), min(m.seq), max(m.seq), "
                      "coalesce(sum(length(m.payload)),0), "
                      "min(m.sim_ms), max(m.sim_ms) FROM stream s LEFT JOIN message m ON m.run = "
                      "s.run AND m.stream = s.id "
                      "WHERE s.run = ? GROUP BY s.id ORDER BY s.id");
        streams.bind(1, id);
        ojson st_list = ojson::array();
        while (streams.next())
            st_list.push_back({{"endpoint", streams.str(0)},
                               {"channel", streams.str(1)},
                               {"messages", streams.i(2)},
                               {"firstSeq", opt_int(streams, 3)},
                               {"lastSeq", opt_int(streams, 4)},
                               {"payloadBytes", streams.i(5)},
                               {"firstTime", opt_int(streams, 6)},
                               {"lastTime", opt_int(streams, 7)}});
        run["streams"] = st_list;
        Query sessions(db.get(), "SELECT count(*), count(closed_us) FROM session WHERE run = ?");
        sessions.bind(1, id);
        sessions.next();
        run["sessions"] = {{"total", sessions.i(0)}, {"closed", sessions.i(1)}};
        Query frames(db.get(),
                     "SELECT count(*), coalesce(sum(dir = 'in'),0), coalesce(sum(dir = 'out'),0), "
                     "min(wall_us), max(wall_us) "
                     "FROM frame WHERE run = ?");
        frames.bind(1, id);
        frames.next();
        run["frames"] = {{"total", frames.i(0)},
                         {"in", frames.i(1)},
                         {"out", frames.i(2)},
                         {"firstWallUs", opt_int(frames, 3)},
                         {"lastWallUs", opt_int(frames, 4)}};
        runs.push_back(run);
    }
    out["runs"] = runs;
    return out;
}

std::string describe(const ojson& s) {
    std::string out = fmt::format("{}: {} bytes, schema {}, {} run(s)\n",
                                  s["file"].get<std::string>(), s["bytes"].get<std::int64_t>(),
                                  s["schemaVersion"].get<int>(), s["runs"].size());
    for (const auto& r : s["runs"]) {
        const bool ended = !r["endedUs"].is_null();
        const double span = ended ? static_cast<double>(r["endedUs"].get<std::int64_t>() -
                                                        r["startedUs"].get<std::int64_t>()) /
                                        1e6
                                  : 0;
        out += fmt::format(
            "run {}: {} {}, seed {}, {}{}\n", r["id"].get<std::int64_t>(),
            r["complete"].get<bool>() ? "complete" : "INCOMPLETE",
            ended ? fmt::format("({:.1f} s)", span)
                  : "(not closed: still recording, or the process died)",
            r["seed"].dump(), r["version"].get<std::string>(),
            r["droppedFrames"].get<std::int64_t>()
                ? fmt::format(", {} events dropped", r["droppedFrames"].get<std::int64_t>())
                : "");
        if (!r["error"].is_null())
            out += fmt::format("  error: {}\n", r["error"].get<std::string>());
        out += fmt::format(
            "  sessions {} ({} closed); frames {} ({} in, {} out)\n",
            r["sessions"]["total"].get<std::int64_t>(), r["sessions"]["closed"].get<std::int64_t>(),
            r["frames"]["total"].get<std::int64_t>(), r["frames"]["in"].get<std::int64_t>(),
            r["frames"]["out"].get<std::int64_t>());
        for (const auto& st : r["streams"])
            out += fmt::format("  {:<17} {:<10} {:>8} messages, seq {}..{}, {} bytes\n",
                               st["endpoint"].get<std::string>(), st["channel"].get<std::string>(),
                               st["messages"].get<std::int64_t>(), st["firstSeq"].dump(),
                               st["lastSeq"].dump(), st["payloadBytes"].get<std::int64_t>());
    }
    return out;
}

std::uint64_t export_jsonl(const std::string& path, std::optional<std::int64_t> run,
                           std::ostream& out) {
    Db db = open_for_reading(path);
    require_run(db.get(), path, run);
    Query q(db.get(),
            "SELECT f.run, f.session, s.name, s.endpoint, f.n, f.part, f.dir, f.wall_us, "
            "st.channel, f.seq, m.sim_ms, "
            "coalesce(m.payload, f.text) FROM frame f "
            "JOIN session s ON s.run = f.run AND s.id = f.session "
            "LEFT JOIN stream st ON st.run = f.run AND st.id = f.stream "
            "LEFT JOIN message m ON m.run = f.run AND m.stream = f.stream AND m.seq = f.seq "
            "WHERE ?1 IS NULL OR f.run = ?1 ORDER BY f.run, f.session, f.n, f.part");
    if (run) q.bind(1, *run);
    std::uint64_t lines = 0;
    while (q.next()) {
        ojson line = {{"run", q.i(0)},
                      {"session", q.i(1)},
                      {"sessionName", q.str(2)},
                      {"endpoint", q.str(3)},
                      {"frame", q.i(4)},
                      {"part", q.i(5)},
                      {"dir", q.str(6)},
                      {"wallUs", q.i(7)},
                      {"channel", q.is_null(8) ? ojson(nullptr) : ojson(q.str(8))},
                      {"seq", opt_int(q, 9)},
                      {"time", opt_int(q, 10)},
                      {"payload", q.str(11)}};
        out << line.dump(-1, ' ', false, ojson::error_handler_t::replace) << '\n';
        ++lines;
    }
    return lines;
}

std::uint64_t export_har(const std::string& path, std::optional<std::int64_t> run,
                         std::ostream& out) {
    Db db = open_for_reading(path);
    require_run(db.get(), path, run);
    auto iso = [](std::int64_t us) {
        const std::time_t secs = static_cast<std::time_t>(us / 1000000);
        std::tm tm{};
        gmtime_r(&secs, &tm);
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                           (us / 1000) % 1000);
    };
    ojson entries = ojson::array();
    Query sessions(db.get(),
                   "SELECT run, id, endpoint, coalesce(target, endpoint), opened_us, "
                   "coalesce(closed_us, opened_us) "
                   "FROM session WHERE ?1 IS NULL OR run = ?1 ORDER BY run, id");
    if (run) sessions.bind(1, *run);
    while (sessions.next()) {
        const auto session_run = sessions.i(0), id = sessions.i(1);
        ojson messages = ojson::array();
        Query frames(
            db.get(),
            "SELECT f.n, f.dir, f.wall_us, coalesce(m.payload, f.text) FROM frame f "
            "LEFT JOIN message m ON m.run = f.run AND m.stream = f.stream AND m.seq = f.seq "
            "WHERE f.run = ? AND f.session = ? ORDER BY f.n, f.part");
        frames.bind(1, session_run).bind(2, id);
        std::int64_t current = -1;
        std::vector<std::string> parts;
        std::string dir;
        std::int64_t wall = 0;
        auto flush = [&] {
            if (parts.empty()) return;
            std::string data =
                parts.size() == 1 ? parts[0] : "[" + fmt::format("{}", fmt::join(parts, ",")) + "]";
            messages.push_back({{"type", dir == "in" ? "send" : "receive"},
                                {"time", static_cast<double>(wall) / 1e6},
                                {"opcode", 1},
                                {"data", std::move(data)}});
            parts.clear();
        };
        while (frames.next()) {
            if (frames.i(0) != current) {
                flush();
                current = frames.i(0);
                dir = frames.str(1);
                wall = frames.i(2);
            }
            parts.push_back(frames.str(3));
        }
        flush();
        const auto opened = sessions.i(4), closed = sessions.i(5);
        entries.push_back({{"startedDateTime", iso(opened)},
                           {"time", static_cast<double>(closed - opened) / 1000.0},
                           {"request",
                            {{"method", "GET"},
                             {"url", "ws://localhost" + engine::redact_target(sessions.str(3))},
                             {"httpVersion", "HTTP/1.1"},
                             {"headers", ojson::array()},
                             {"queryString", ojson::array()},
                             {"cookies", ojson::array()},
                             {"headersSize", -1},
                             {"bodySize", 0}}},
                           {"response",
                            {{"status", 101},
                             {"statusText", "Switching Protocols"},
                             {"httpVersion", "HTTP/1.1"},
                             {"headers", ojson::array()},
                             {"cookies", ojson::array()},
                             {"content", {{"size", 0}, {"mimeType", "x-unknown"}}},
                             {"redirectURL", ""},
                             {"headersSize", -1},
                             {"bodySize", 0}}},
                           {"cache", ojson::object()},
                           {"timings", {{"send", 0}, {"wait", 0}, {"receive", 0}}},
                           {"_resourceType", "websocket"},
                           {"_webSocketMessages", std::move(messages)}});
    }
    const auto count = entries.size();
    ojson har = {{"log",
                  {{"version", "1.2"},
                   {"creator", {{"name", "streambed"}, {"version", "0.1.0"}}},
                   {"pages", ojson::array()},
                   {"entries", std::move(entries)}}}};
    out << har.dump(1, ' ', false, ojson::error_handler_t::replace) << '\n';
    return count;
}

}  // namespace streambed::recorder
