// verify.cpp: reading a recorded run for `verify` — its seed, configuration, clock and
// sessions with what each sent. The comparison of a re-driven session: verify_compare.cpp.
#include "recorder/verify.hpp"

#include <fmt/format.h>

#include <map>
#include <nlohmann/json.hpp>

#include "recorder/run_lookup.hpp"
#include "recorder/statement.hpp"

namespace streambed::recorder {

using json = nlohmann::json;

RecordedRun::RecordedRun(const std::string& path, std::optional<std::int64_t> run)
    : path_(path), db_(open_for_reading(path)) {
    sqlite3* db = db_.get();
    {
        Query runs(db,
                   "SELECT id, coalesce(seed, 0), coalesce(config, ''), coalesce(time_scale, 1), "
                   "started_us, dropped_frames, ended_us FROM run ORDER BY id DESC");
        bool found = false;
        std::optional<std::int64_t> ended;
        while (runs.next()) {
            if (run && runs.i(0) != *run) continue;
            id_ = runs.i(0);
            seed_ = static_cast<std::uint64_t>(runs.i(1));
            config_ = runs.str(2);
            time_scale_ = runs.d(3);
            started_us_ = runs.i(4);
            dropped_ = runs.i(5);
            if (!runs.is_null(6)) ended = runs.i(6);
            found = true;
            break;
        }
        if (!found)
            throw RecordingError(run ? fmt::format("{}: no run {}", path, *run)
                                     : fmt::format("{}: the recording holds no run", path));
        // A session that never closed was open until the run's end (or its last frame).
        if (!ended) {
            Query last(db, "SELECT max(wall_us) FROM frame WHERE run = ?");
            last.i(1, id_);
            if (last.next() && !last.is_null(0)) ended = last.i(0);
        }
        Query streams(db, "SELECT id, endpoint, channel FROM stream WHERE run = ?");
        streams.i(1, id_);
        while (streams.next()) streams_[{streams.str(1), streams.str(2)}] = streams.i(0);

        Query sessions(
            db,
            "SELECT id, name, endpoint, coalesce(target, endpoint), opened_us, closed_us, "
            "close_code, coalesce(close_reason, '') FROM session WHERE run = ? "
            "ORDER BY opened_us, id");
        sessions.i(1, id_);
        std::map<std::int64_t, std::size_t> index;
        while (sessions.next()) {
            RecordedSession s;
            s.id = sessions.i(0);
            s.name = sessions.str(1);
            s.endpoint = sessions.str(2);
            s.target = sessions.str(3);
            s.opened_us = sessions.i(4);
            s.end_us = sessions.is_null(5) ? std::max(ended.value_or(s.opened_us), s.opened_us)
                                           : sessions.i(5);
            if (!sessions.is_null(6)) s.close_code = static_cast<int>(sessions.i(6));
            s.close_reason = sessions.str(7);
            index[s.id] = sessions_.size();
            sessions_.push_back(std::move(s));
        }
        Query sent(db,
                   "SELECT session, n, wall_us, text FROM frame WHERE run = ? AND dir = 'in' "
                   "ORDER BY session, n");
        sent.i(1, id_);
        while (sent.next()) {
            auto it = index.find(sent.i(0));
            if (it == index.end()) continue;  // a frame of a session whose opening was dropped
            sessions_[it->second].sent.push_back({sent.i(1), sent.i(2), sent.str(3)});
        }
    }
    // The clock: a welcome carries (simulated now, wall now); else the first published message.
    {
        Query welcome(db,
                      "SELECT text FROM frame WHERE run = ? AND dir = 'out' AND stream IS NULL "
                      "AND text LIKE '{\"type\":\"welcome\"%' LIMIT 1");
        welcome.i(1, id_);
        if (welcome.next()) {
            auto j = json::parse(welcome.s(0), nullptr, false);
            if (j.is_object() && j.contains("clock") && j["clock"].is_object()) {
                const auto& c = j["clock"];
                if (c.value("time", json()).is_number_integer() &&
                    c.value("wall", json()).is_number_integer())
                    clock_ = engine::ClockAnchor{c["time"].get<std::int64_t>(),
                                                 c["wall"].get<std::int64_t>(), time_scale_};
            }
            if (j.is_object() && j.value("heartbeatMs", json()).is_number_integer())
                heartbeat_ms_ = j["heartbeatMs"].get<std::int64_t>();
        }
        if (!clock_) {
            Query first(db,
                        "SELECT sim_ms, wall_us FROM message WHERE run = ? ORDER BY ord LIMIT 1");
            first.i(1, id_);
            if (first.next()) clock_ = engine::ClockAnchor{first.i(0), first.i(1), time_scale_};
        }
    }
    lookup_ = std::make_unique<Lookup>(db);
}

RecordedRun::~RecordedRun() = default;

}  // namespace streambed::recorder
