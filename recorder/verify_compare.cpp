// verify_compare.cpp: comparing a re-driven session with its recording — control replies in
// order, data messages by bytes and by stretches of consecutive seqs whose edges may move by the
// tolerance, and the server's closes.
#include "recorder/verify.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "engine/clock.hpp"
#include "recorder/run_lookup.hpp"
#include "recorder/statement.hpp"
#include "recorder/verify_message.hpp"

namespace streambed::recorder {

namespace {

struct Stretch {  // consecutive seqs of one channel: [begin, end) of its items
    std::size_t begin, end;
};

// `events_between(a, b)`: every seq strictly between a and b is an event of the run. A snapshot
// (a state opening a stretch) followed by a message more than one seq later is one stretch when
// only events lie between: events published before a subscription lands are not owed, so where
// the subscription landed among them is timing, like a stretch's edges.
template <typename EventsBetween>
std::vector<Stretch> stretches(const std::vector<const SessionMessage*>& items,
                               EventsBetween events_between) {
    std::vector<Stretch> out;
    for (std::size_t i = 0; i < items.size(); ++i) {
        const SessionMessage* prev = i ? items[i - 1] : nullptr;
        const bool next = prev && items[i]->seq == prev->seq + 1;
        const bool after_snapshot = prev && out.back().begin == i - 1 && prev->state &&
                                    items[i]->seq > prev->seq &&
                                    events_between(prev->seq, items[i]->seq);
        if (next || after_snapshot)
            out.back().end = i + 1;
        else
            out.push_back({i, i + 1});
    }
    return out;
}

std::string no_further(const std::string& channel) {
    return fmt::format("no further message of channel {}", channel);
}

}  // namespace

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
    std::vector<SessionMessage> expected;
    {
        Query rows(db_.get(),
                   "SELECT f.n, f.wall_us, f.stream IS NOT NULL, st.channel, f.seq, m.sim_ms, "
                   "coalesce(m.payload, f.text) FROM frame f LEFT JOIN stream st ON st.run = f.run "
                   "AND st.id = f.stream "
                   "LEFT JOIN message m ON m.run = f.run AND m.stream = f.stream AND m.seq = f.seq "
                   "WHERE f.run = ? AND f.session = ? AND f.dir = 'out' ORDER BY f.n, f.part");
        rows.i(1, id_).i(2, session.id);
        while (rows.next()) {
            SessionMessage item;
            item.frame = rows.i(0);
            item.wall_us = rows.i(1);
            item.data = rows.i(2) != 0;
            if (item.data) {
                item.channel = rows.str(3);
                item.seq = static_cast<std::uint64_t>(rows.i(4));
                item.time = rows.i(5);
            }
            item.text = rows.str(6);
            if (SessionMessage parsed; item.data && parse_data_message(item.text, parsed))
                item.state = parsed.state;
            expected.push_back(std::move(item));
        }
    }
    // The re-driven side: batch frames split into their messages.
    std::vector<SessionMessage> got;
    for (const auto& frame : observed.frames) {
        for (auto part : split_frame(frame.text)) {
            SessionMessage item;
            item.wall_us = frame.wall_us;
            item.text = std::string(part);
            if (!parse_data_message(part, item)) item.data = false;
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
    auto late = [&](const SessionMessage& g) { return g.wall_us > session.end_us; };

    // 1. Control messages: the same ones, in the same order.
    std::vector<const SessionMessage*> want, have;
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
        if (normalized_control(want[i]->text) != normalized_control(have[i]->text)) {
            note({want[i]->frame, want[i]->text, have[i]->text});
            break;
        }
        ++verdict.compared;
    }

    // 2. Data messages, per channel.
    std::map<std::string,
             std::pair<std::vector<const SessionMessage*>, std::vector<const SessionMessage*>>>
        channels;
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
        // At most this many seqs are looked up to join a snapshot to what follows it.
        constexpr std::uint64_t kSnapshotGapLimit = 64;
        auto events_between = [&](std::uint64_t a, std::uint64_t b) {
            if (b - a > kSnapshotGapLimit) return false;
            for (std::uint64_t seq = a + 1; seq < b; ++seq) {
                SessionMessage m;
                const auto r = recorded(seq);
                if (!r || !parse_data_message(r->second, m) || m.state) return false;
            }
            return true;
        };
        const auto want_s = stretches(want_c, events_between),
                   have_s = stretches(have_c, events_between);
        // A channel only one side holds, in one stretch whose messages span at most the
        // tolerance, on a channel the session asked for: a sparse channel whose messages the
        // subscription's edges passed over (in the recording, the window fell between two).
        auto passed_over = [&](const std::vector<const SessionMessage*>& items,
                               const std::vector<Stretch>& s) {
            return s.size() == 1 && static_cast<double>(items[s[0].end - 1]->time -
                                                        items[s[0].begin]->time) <= tolerance_ms;
        };
        if (want_s.empty() != have_s.empty() && subscribed_to(session, channel) &&
            passed_over(want_s.empty() ? have_c : want_c, want_s.empty() ? have_s : want_s))
            continue;
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
            const SessionMessage* w_first = want_c[w.begin];
            const SessionMessage* w_last = want_c[w.end - 1];
            const SessionMessage* h_first = have_c[h.begin];
            const SessionMessage* h_last = have_c[h.end - 1];
            if (!edge_ok(w_first->seq, h_first->seq, true)) {
                note({w_first->frame, w_first->text, h_first->text});
                break;
            }
            if (!edge_ok(w_last->seq, h_last->seq, false)) {
                if (h_last->seq < w_last->seq) {
                    // The re-drive stopped early: the recording went on with h_last + 1.
                    const auto k =
                        h_last->seq + 1 > w_first->seq ? h_last->seq + 1 - w_first->seq : 0;
                    const SessionMessage* missing = want_c[w.begin + static_cast<std::size_t>(k)];
                    note({missing->frame, missing->text,
                          h.end < have_c.size() ? have_c[h.end]->text : no_further(channel)});
                } else {
                    // The re-drive went on where the recording stopped.
                    const auto k =
                        w_last->seq + 1 > h_first->seq ? w_last->seq + 1 - h_first->seq : 0;
                    const SessionMessage* extra = have_c[h.begin + static_cast<std::size_t>(k)];
                    const SessionMessage* next = w.end < want_c.size() ? want_c[w.end] : nullptr;
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
