// session_meter.cpp: a session's counters and its record on the tap.
#include "engine/session_meter.hpp"

#include <algorithm>

#include "engine/clock.hpp"

namespace streambed::engine {

void SessionMeter::opened(SessionOpened session) {
    tap_id_ = session.id;
    tap_->session_opened(session);
}

void SessionMeter::frame_in(std::string_view text) {
    if (tap_id_) tap_->frame_in(tap_id_, text, wall_now_us());
}

void SessionMeter::closed(int peer_code, std::string_view peer_reason) {
    if (!tap_id_) return;
    if (close_code_)
        tap_->session_closed(tap_id_, close_code_, close_reason_, wall_now_us());
    else if (peer_code)
        tap_->session_closed(tap_id_, peer_code, peer_reason, wall_now_us());
    else
        tap_->session_closed(tap_id_, 1006, "", wall_now_us());
}

void SessionMeter::write_started(std::span<const MessagePtr> batch) {
    const std::int64_t now = steady_now_us();
    for (const auto& m : batch)
        if (m->stream != kNoStream)
            counters_.observe_latency(
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - m->published_us)));
}

void SessionMeter::count(std::span<const MessagePtr> sent, std::size_t frames,
                         std::size_t payload) {
    counters_.frames_sent.add(frames);
    counters_.bytes_sent.add(payload);
    for (const auto& m : sent)
        if (m->stream != kNoStream) counters_.messages_sent.add();
}

void SessionMeter::written_as_one(std::span<const MessagePtr> sent, std::size_t payload) {
    count(sent, 1, payload);
    if (tap_id_) tap_->frame_out(tap_id_, sent.data(), sent.size(), wall_now_us());
}

void SessionMeter::written_gathered(std::span<const MessagePtr> sent,
                                    const GatheredWriter& writer) {
    count(sent, writer.frame_count(sent.size()), writer.payload());
    if (!tap_id_) return;
    const auto now = wall_now_us();
    if (!writer.batch()) return tap_->frames_out(tap_id_, sent.data(), sent.size(), now);
    for (const auto& seg : writer.segments())
        tap_->frame_out(tap_id_, &sent[seg.first], seg.count, now);
}

}  // namespace streambed::engine
