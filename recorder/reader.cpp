// reader.cpp: read-only queries over a recording.
#include "recorder/reader.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include "recorder/schema.hpp"

namespace streambed::recorder {
namespace {

using json = nlohmann::ordered_json;

struct Query {
    sqlite3_stmt* st = nullptr;
    sqlite3* db;
    Query(sqlite3* d, const char* sql) : db(d) {
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
            throw RecordingError(std::string("the recording is damaged: ") + sqlite3_errmsg(db));
    }
    ~Query() { sqlite3_finalize(st); }
    Query& bind(int col, std::int64_t v) {
        sqlite3_bind_int64(st, col, v);
        return *this;
    }
    bool next() {
        const int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw RecordingError(std::string("the recording is damaged: ") + sqlite3_errmsg(db));
    }
    std::int64_t i(int col) { return sqlite3_column_int64(st, col); }
    bool is_null(int col) { return sqlite3_column_type(st, col) == SQLITE_NULL; }
    std::string s(int col) {
        auto p = static_cast<const char*>(sqlite3_column_blob(st, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col))) : std::string();
    }
};

json opt_int(Query& q, int col) { return q.is_null(col) ? json(nullptr) : json(q.i(col)); }

}  // namespace

json inspect(const std::string& path) {
    Db db = open_for_reading(path);
    struct stat st {};
    ::stat(path.c_str(), &st);
    json out = {{"file", path}, {"bytes", static_cast<std::int64_t>(st.st_size)}, {"schemaVersion", kSchemaVersion}};
    json runs = json::array();
    Query r(db.get(), "SELECT id, started_us, ended_us, version, seed, config, complete, dropped_frames, error FROM run ORDER BY id");
    while (r.next()) {
        const auto id = r.i(0);
        json run = {{"id", id}, {"startedUs", r.i(1)}, {"endedUs", opt_int(r, 2)}, {"version", r.s(3)},
                    {"seed", opt_int(r, 4)}, {"config", r.is_null(5) ? json(nullptr) : json::parse(r.s(5), nullptr, false)},
                    {"complete", r.i(6) == 1}, {"droppedFrames", r.i(7)}, {"error", r.is_null(8) ? json(nullptr) : json(r.s(8))}};
        Query streams(db.get(),
                      "SELECT s.endpoint, s.channel, count(m.seq), min(m.seq), max(m.seq), coalesce(sum(length(m.payload)),0), "
                      "min(m.sim_ms), max(m.sim_ms) FROM stream s LEFT JOIN message m ON m.run = s.run AND m.stream = s.id "
                      "WHERE s.run = ? GROUP BY s.id ORDER BY s.id");
        streams.bind(1, id);
        json st_list = json::array();
        while (streams.next())
            st_list.push_back({{"endpoint", streams.s(0)}, {"channel", streams.s(1)}, {"messages", streams.i(2)},
                               {"firstSeq", opt_int(streams, 3)}, {"lastSeq", opt_int(streams, 4)},
                               {"payloadBytes", streams.i(5)}, {"firstTime", opt_int(streams, 6)},
                               {"lastTime", opt_int(streams, 7)}});
        run["streams"] = st_list;
        Query sessions(db.get(), "SELECT count(*), count(closed_us) FROM session WHERE run = ?");
        sessions.bind(1, id);
        sessions.next();
        run["sessions"] = {{"total", sessions.i(0)}, {"closed", sessions.i(1)}};
        Query frames(db.get(),
                     "SELECT count(*), coalesce(sum(dir = 'in'),0), coalesce(sum(dir = 'out'),0), min(wall_us), max(wall_us) "
                     "FROM frame WHERE run = ?");
        frames.bind(1, id);
        frames.next();
        run["frames"] = {{"total", frames.i(0)}, {"in", frames.i(1)}, {"out", frames.i(2)},
                         {"firstWallUs", opt_int(frames, 3)}, {"lastWallUs", opt_int(frames, 4)}};
        runs.push_back(run);
    }
    out["runs"] = runs;
    return out;
}

std::string describe(const json& s) {
    std::string out = fmt::format("{}: {} bytes, schema {}, {} run(s)\n", s["file"].get<std::string>(),
                                  s["bytes"].get<std::int64_t>(), s["schemaVersion"].get<int>(), s["runs"].size());
    for (const auto& r : s["runs"]) {
        const bool ended = !r["endedUs"].is_null();
        const double span = ended ? static_cast<double>(r["endedUs"].get<std::int64_t>() - r["startedUs"].get<std::int64_t>()) / 1e6 : 0;
        out += fmt::format("run {}: {} {}, seed {}, {}{}\n", r["id"].get<std::int64_t>(),
                           r["complete"].get<bool>() ? "complete" : "INCOMPLETE",
                           ended ? fmt::format("({:.1f} s)", span) : "(not closed: still recording, or the process died)",
                           r["seed"].dump(), r["version"].get<std::string>(),
                           r["droppedFrames"].get<std::int64_t>() ? fmt::format(", {} events dropped", r["droppedFrames"].get<std::int64_t>()) : "");
        if (!r["error"].is_null()) out += fmt::format("  error: {}\n", r["error"].get<std::string>());
        out += fmt::format("  sessions {} ({} closed); frames {} ({} in, {} out)\n", r["sessions"]["total"].get<std::int64_t>(),
                           r["sessions"]["closed"].get<std::int64_t>(), r["frames"]["total"].get<std::int64_t>(),
                           r["frames"]["in"].get<std::int64_t>(), r["frames"]["out"].get<std::int64_t>());
        for (const auto& st : r["streams"])
            out += fmt::format("  {:<17} {:<10} {:>8} messages, seq {}..{}, {} bytes\n", st["endpoint"].get<std::string>(),
                               st["channel"].get<std::string>(), st["messages"].get<std::int64_t>(), st["firstSeq"].dump(),
                               st["lastSeq"].dump(), st["payloadBytes"].get<std::int64_t>());
    }
    return out;
}

std::uint64_t export_jsonl(const std::string& path, std::optional<std::int64_t> run, std::ostream& out) {
    Db db = open_for_reading(path);
    Query q(db.get(),
            "SELECT f.run, f.session, s.name, s.endpoint, f.n, f.part, f.dir, f.wall_us, st.channel, f.seq, m.sim_ms, "
            "coalesce(m.payload, f.text) FROM frame f "
            "JOIN session s ON s.run = f.run AND s.id = f.session "
            "LEFT JOIN stream st ON st.run = f.run AND st.id = f.stream "
            "LEFT JOIN message m ON m.run = f.run AND m.stream = f.stream AND m.seq = f.seq "
            "WHERE ?1 IS NULL OR f.run = ?1 ORDER BY f.run, f.session, f.n, f.part");
    if (run) q.bind(1, *run);
    std::uint64_t lines = 0;
    while (q.next()) {
        json line = {{"run", q.i(0)}, {"session", q.i(1)}, {"sessionName", q.s(2)}, {"endpoint", q.s(3)},
                     {"frame", q.i(4)}, {"part", q.i(5)}, {"dir", q.s(6)}, {"wallUs", q.i(7)},
                     {"channel", q.is_null(8) ? json(nullptr) : json(q.s(8))}, {"seq", opt_int(q, 9)},
                     {"time", opt_int(q, 10)}, {"payload", q.s(11)}};
        out << line.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
        ++lines;
    }
    return lines;
}

}  // namespace streambed::recorder
