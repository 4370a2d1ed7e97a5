// verify.cpp: reading a run's sessions, and comparing a re-driven session with its recording.
#include "recorder/verify.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/catalog.hpp"
#include "recorder/statement.hpp"

namespace streambed::recorder {
namespace {

using json = nlohmann::json;

// Reads are of a file that passed the open checks: a failure here means damage.
struct Rows : Statement {
    Rows(sqlite3* db, const char* sql) : Statement(db, sql, damaged(db)) {}
    std::string str(int col) const { return std::string(s(col)); }
};

// One message of a session, recorded (frame >= 0) or re-driven (frame -1).
struct Item {
    std::int64_t frame = -1;
    std::int64_t wall_us = 0;  // the recording's timeline
    bool data = false;
    std::string channel;  // data only
    std::uint64_t seq = 0;
    std::int64_t time = 0;
    std::string text;
};

// A data message's envelope as the engine frames it:
// {"type":T,"channel":C,"seq":N,"time":T,"data":…}. False for anything else.
bool parse_data(std::string_view text, Item& item) {
    constexpr std::string_view kType = R"({"type":")", kChannel = R"(","channel":")",
                               kSeq = R"(","seq":)", kTime = R"(,"time":)", kData = R"(,"data":)";
    if (!text.starts_with(kType)) return false;
    std::size_t pos = kType.size();
    const auto type_end = text.find('"', pos);
    if (type_end == std::string_view::npos) return false;
    const auto type = engine::message_type_from_name(text.substr(pos, type_end - pos));
    if (!type) return false;
    pos = type_end;
    if (text.substr(pos, kChannel.size()) != kChannel) return false;
    pos += kChannel.size();
    const auto channel_end = text.find('"', pos);
    if (channel_end == std::string_view::npos) return false;
    item.channel = std::string(text.substr(pos, channel_end - pos));
    pos = channel_end;
    if (text.substr(pos, kSeq.size()) != kSeq) return false;
    pos += kSeq.size();
    const char* end = text.data() + text.size();
    auto seq = std::from_chars(text.data() + pos, end, item.seq);
    if (seq.ec != std::errc()) return false;
    pos = static_cast<std::size_t>(seq.ptr - text.data());
    if (text.substr(pos, kTime.size()) != kTime) return false;
    pos += kTime.size();
    auto time = std::from_chars(text.data() + pos, end, item.time);
    if (time.ec != std::errc()) return false;
    pos = static_cast<std::size_t>(time.ptr - text.data());
    if (text.substr(pos, kData.size()) != kData) return false;
    item.data = true;
    return true;
}

// What of a control message must match: all of it, except what depends on the instant or the
// server instance — welcome.session and welcome.clock, reset.seq (the newest seq then).
std::string normalized(std::string_view text) {
    auto j = json::parse(text, nullptr, false);
    if (!j.is_object()) return std::string(text);
    const auto type = j.value("type", "");
    if (type == "welcome") {
        j.erase("session");
        j.erase("clock");
        return j.dump();
    }
    if (type == "reset") {
        j.erase("seq");
        return j.dump();
    }
    return std::string(text);
}

struct Stretch {  // consecutive seqs of one channel: [begin, end) of its items
    std::size_t begin, end;
};

std::vector<Stretch> stretches(const std::vector<const Item*>& items) {
    std::vector<Stretch> out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i == 0 || items[i]->seq != items[i - 1]->seq + 1)
            out.push_back({i, i + 1});
        else
            out.back().end = i + 1;
    }
    return out;
}

std::string no_further(const std::string& channel) {
    return fmt::format("no further message of channel {}", channel);
}

}  // namespace

std::vector<std::string_view> split_frame(std::string_view frame) {
    if (frame.empty() || frame.front() != '[' || frame.back() != ']') return {frame};
    std::vector<std::string_view> parts;
    int depth = 0;
    bool in_string = false, escaped = false;
    std::size_t start = 1;
    for (std::size_t i = 1; i + 1 < frame.size(); ++i) {
        const char c = frame[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 0) {
            parts.push_back(frame.substr(start, i - start));
            start = i + 1;
        }
    }
    if (depth != 0 || in_string || start >= frame.size() - 1) return {frame};  // not a batch
    parts.push_back(frame.substr(start, frame.size() - 1 - start));
    return parts;
}

// Data messages of the run by (stream, seq): bytes and simulated time.
struct RecordedRun::Lookup {
    explicit Lookup(sqlite3* db)
        : message(db,
                  "SELECT sim_ms, payload FROM message WHERE run = ? AND stream = ? AND seq = ?"),
          last(db, "SELECT max(seq) FROM message WHERE run = ? AND stream = ?") {}
    Rows message, last;
    std::map<std::int64_t, std::uint64_t> last_seq;  // per stream, cached
};

RecordedRun::RecordedRun(const std::string& path, std::optional<std::int64_t> run)
    : path_(path), db_(open_for_reading(path)) {
    sqlite3* db = db_.get();
    {
        Rows runs(db,
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
            Rows last(db, "SELECT max(wall_us) FROM frame WHERE run = ?");
            last.i(1, id_);
            if (last.next() && !last.is_null(0)) ended = last.i(0);
        }
        Rows streams(db, "SELECT id, endpoint, channel FROM stream WHERE run = ?");
        streams.i(1, id_);
        while (streams.next()) streams_[{streams.str(1), streams.str(2)}] = streams.i(0);

        Rows sessions(
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
        Rows sent(db,
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
        Rows welcome(db,
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
            Rows first(db,
                       "SELECT sim_ms, wall_us FROM message WHERE run = ? ORDER BY ord LIMIT 1");
            first.i(1, id_);
            if (first.next()) clock_ = engine::ClockAnchor{first.i(0), first.i(1), time_scale_};
        }
    }
    lookup_ = std::make_unique<Lookup>(db);
}

RecordedRun::~RecordedRun() = default;

SessionVerdict RecordedRun::compare(const RecordedSession& session, const Observed& observed,
                                    std::int64_t tolerance_us) {
    SessionVerdict verdict;
    auto note = [&](Difference d) {
        if (!verdict.difference || d.frame < verdict.difference->frame)
            verdict.difference = std::move(d);
    };
    if (!observed.error.empty()) {
        note({0, fmt::format("a session on {}", session.target), observed.error});
        return verdict;
    }

    // The recorded side: every outbound message in order; data by (channel, seq) and bytes.
    std::vector<Item> expected;
    {
        Rows rows(db_.get(),
                  "SELECT f.n, f.wall_us, f.stream IS NOT NULL, st.channel, f.seq, m.sim_ms, "
                  "coalesce(m.payload, f.text) FROM frame f LEFT JOIN stream st ON st.run = f.run "
                  "AND st.id = f.stream "
                  "LEFT JOIN message m ON m.run = f.run AND m.stream = f.stream AND m.seq = f.seq "
                  "WHERE f.run = ? AND f.session = ? AND f.dir = 'out' ORDER BY f.n, f.part");
        rows.i(1, id_).i(2, session.id);
        while (rows.next()) {
            Item item;
            item.frame = rows.i(0);
            item.wall_us = rows.i(1);
            item.data = rows.i(2) != 0;
            if (item.data) {
                item.channel = rows.str(3);
                item.seq = static_cast<std::uint64_t>(rows.i(4));
                item.time = rows.i(5);
            }
            item.text = rows.str(6);
            expected.push_back(std::move(item));
        }
    }
    // The re-driven side: batch frames split into their messages.
    std::vector<Item> got;
    for (const auto& frame : observed.frames) {
        for (auto part : split_frame(frame.text)) {
            Item item;
            item.wall_us = frame.wall_us;
            item.text = std::string(part);
            if (!parse_data(part, item)) item.data = false;
            got.push_back(std::move(item));
        }
    }
    // Where a re-driven message that the recording lacks would have been: the number of the
    // first recorded frame at or after its instant.
    std::vector<std::pair<std::int64_t, std::int64_t>> timeline;  // (frame, wall)
    for (const auto& e : expected) timeline.emplace_back(e.frame, e.wall_us);
    for (const auto& s : session.sent) timeline.emplace_back(s.frame, s.wall_us);
    std::sort(timeline.begin(), timeline.end());
    const std::int64_t after_last = timeline.empty() ? 0 : timeline.back().first + 1;
    auto position_of = [&](std::int64_t wall) {
        for (const auto& [frame, at] : timeline)
            if (at >= wall) return frame;
        return after_last;
    };
    // Only what the recording could have seen counts against the re-drive: a message arriving
    // after the recorded session's end is late, and may only stand for a recorded one.
    auto late = [&](const Item& g) { return g.wall_us > session.end_us; };

    // 1. Control messages: the same ones, in the same order.
    std::vector<const Item*> want, have;
    for (const auto& e : expected)
        if (!e.data) want.push_back(&e);
    for (const auto& g : got)
        if (!g.data) have.push_back(&g);
    for (std::size_t i = 0; i < std::max(want.size(), have.size()); ++i) {
        if (i >= have.size()) {
            note({want[i]->frame, want[i]->text, "nothing"});
            break;
        }
        if (i >= want.size()) {
            if (!late(*have[i]))
                note({position_of(have[i]->wall_us), "no further control message", have[i]->text});
            break;
        }
        if (normalized(want[i]->text) != normalized(have[i]->text)) {
            note({want[i]->frame, want[i]->text, have[i]->text});
            break;
        }
        ++verdict.compared;
    }

    // 2. Data messages, per channel.
    std::map<std::string, std::pair<std::vector<const Item*>, std::vector<const Item*>>> channels;
    for (const auto& e : expected)
        if (e.data) channels[e.channel].first.push_back(&e);
    for (const auto& g : got)
        if (g.data && !late(g)) channels[g.channel].second.push_back(&g);
    const double tolerance_ms = engine::sim_span_ms(time_scale_, tolerance_us);

    for (const auto& [channel, sides] : channels) {
        const auto& [want_c, have_c] = sides;
        const auto stream = streams_.find({session.endpoint, channel});
        auto recorded =
            [&](std::uint64_t seq) -> std::optional<std::pair<std::int64_t, std::string>> {
            if (stream == streams_.end()) return std::nullopt;
            auto& q = lookup_->message;
            q.reset();
            q.i(1, id_).i(2, stream->second).i(3, static_cast<std::int64_t>(seq));
            std::optional<std::pair<std::int64_t, std::string>> out;
            if (q.next()) out.emplace(q.i(0), q.str(1));
            q.reset();
            return out;
        };
        auto last_recorded_seq = [&]() -> std::uint64_t {
            if (stream == streams_.end()) return 0;
            auto [it, fresh] = lookup_->last_seq.try_emplace(stream->second, 0);
            if (fresh) {
                auto& q = lookup_->last;
                q.reset();
                q.i(1, id_).i(2, stream->second);
                if (q.next() && !q.is_null(0)) it->second = static_cast<std::uint64_t>(q.i(0));
                q.reset();
            }
            return it->second;
        };
        auto recorded_frame = [&](std::uint64_t seq, std::int64_t wall) {
            for (const auto* e : want_c)
                if (e->seq == seq) return e->frame;
            return position_of(wall);
        };

        // a. Bytes: a re-driven data message is exactly the run's message of that (stream, seq).
        for (const auto* g : have_c) {
            if (stream == streams_.end()) {
                note({position_of(g->wall_us),
                      fmt::format("no message of channel {} (not a stream of the run)", channel),
                      g->text});
                break;
            }
            if (auto r = recorded(g->seq)) {
                if (r->second != g->text) {
                    note({recorded_frame(g->seq, g->wall_us), r->second, g->text});
                    break;
                }
            } else if (g->seq <= last_recorded_seq()) {
                note({recorded_frame(g->seq, g->wall_us),
                      fmt::format("message {} of channel {} (missing from the recording)", g->seq,
                                  channel),
                      g->text});
                break;
            }
        }

        // b. Seqs: the same stretches of consecutive seqs, whose edges may move by the tolerance.
        auto time_of = [&](std::uint64_t seq) -> std::optional<std::int64_t> {
            if (auto r = recorded(seq)) return r->first;
            for (const auto* g : have_c)
                if (g->seq == seq) return g->time;
            return std::nullopt;
        };
        // The edge moved from seq a to seq b: fine when the messages passed over span at most
        // the tolerance (one message always: the subscription landed on the other side of it).
        auto edge_ok = [&](std::uint64_t a, std::uint64_t b, bool start) {
            const auto lo = std::min(a, b), hi = std::max(a, b);
            if (hi - lo <= 1) return true;
            const auto t0 = time_of(start ? lo : lo + 1), t1 = time_of(start ? hi - 1 : hi);
            return t0 && t1 && static_cast<double>(*t1 - *t0) <= tolerance_ms;
        };
        const auto want_s = stretches(want_c), have_s = stretches(have_c);
        for (std::size_t i = 0; i < std::max(want_s.size(), have_s.size()); ++i) {
            if (i >= want_s.size()) {
                const auto* g = have_c[have_s[i].begin];
                note({position_of(g->wall_us),
                      i == 0 ? fmt::format("no message of channel {}", channel)
                             : no_further(channel),
                      g->text});
                break;
            }
            const auto& w = want_s[i];
            if (i >= have_s.size()) {
                note({want_c[w.begin]->frame, want_c[w.begin]->text,
                      i == 0 ? fmt::format("no message of channel {}", channel)
                             : no_further(channel)});
                break;
            }
            const auto& h = have_s[i];
            const Item* w_first = want_c[w.begin];
            const Item* w_last = want_c[w.end - 1];
            const Item* h_first = have_c[h.begin];
            const Item* h_last = have_c[h.end - 1];
            if (!edge_ok(w_first->seq, h_first->seq, true)) {
                note({w_first->frame, w_first->text, h_first->text});
                break;
            }
            if (!edge_ok(w_last->seq, h_last->seq, false)) {
                if (h_last->seq < w_last->seq) {
                    // The re-drive stopped early: the recording went on with h_last + 1.
                    const auto k =
                        h_last->seq + 1 > w_first->seq ? h_last->seq + 1 - w_first->seq : 0;
                    const Item* missing = want_c[w.begin + static_cast<std::size_t>(k)];
                    note({missing->frame, missing->text,
                          h.end < have_c.size() ? have_c[h.end]->text : no_further(channel)});
                } else {
                    // The re-drive went on where the recording stopped.
                    const auto k =
                        w_last->seq + 1 > h_first->seq ? w_last->seq + 1 - h_first->seq : 0;
                    const Item* extra = have_c[h.begin + static_cast<std::size_t>(k)];
                    const Item* next = w.end < want_c.size() ? want_c[w.end] : nullptr;
                    note({next ? next->frame : position_of(extra->wall_us),
                          next ? next->text : no_further(channel), extra->text});
                }
                break;
            }
            // On the overlap both hold the same consecutive seqs, with the bytes checked above.
            const auto from = std::max(w_first->seq, h_first->seq),
                       to = std::min(w_last->seq, h_last->seq);
            if (to >= from) verdict.compared += to - from + 1;
        }
    }

    // 3. Closing: a close the server chose because of what the client sent (1008: repeated
    // abuse) must come again; the re-driven session must not be closed by the server otherwise.
    const bool recorded_abuse = session.close_code == 1008;
    if (observed.server_close_code != 0 && observed.server_closed_us <= session.end_us) {
        if (session.close_code != observed.server_close_code)
            note({after_last,
                  session.close_code == 1008
                      ? fmt::format("close {} ({})", 1008, session.close_reason)
                      : "the session open until its recorded end",
                  fmt::format(
                      "close {} ({}) {:.3f} s after opening", observed.server_close_code,
                      observed.server_close_reason,
                      static_cast<double>(observed.server_closed_us - session.opened_us) / 1e6)});
    } else if (recorded_abuse && observed.server_close_code != 1008) {
        note({after_last, fmt::format("close 1008 ({})", session.close_reason),
              observed.server_close_code ? fmt::format("close {} ({})", observed.server_close_code,
                                                       observed.server_close_reason)
                                         : "the session still open at its recorded end"});
    }
    return verdict;
}

}  // namespace streambed::recorder
