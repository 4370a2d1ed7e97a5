// stream.cpp: framing of data messages and the history ring.
#include "engine/stream.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

namespace streambed::engine {

Stream::Stream(StreamId id, Endpoint endpoint, std::string channel, std::size_t history_limit)
    : id_(id), endpoint_(endpoint), channel_(std::move(channel)), history_limit_(history_limit) {}

MessagePtr Stream::append(MessageType type, std::int64_t time_ms, std::string_view data_json,
                          std::int64_t published_us) {
    auto m = std::make_shared<Message>();
    m->stream = id_;
    m->type = type;
    m->time_ms = time_ms;
    m->published_us = published_us;
    // Only the source thread writes last_seq_, so reading it unlocked here is safe.
    m->seq = last_seq_ + 1;
    // The envelope's bytes depend on nothing but the stream, seq and the source's data.
    m->bytes.reserve(data_json.size() + channel_.size() + 80);
    fmt::format_to(std::back_inserter(m->bytes),
                   FMT_COMPILE(R"({{"type":"{}","channel":"{}","seq":{},"time":{},"data":{}}})"),
                   name(type), channel_, m->seq, time_ms, data_json);
    m->header = text_frame_header(m->bytes.size());
    MessagePtr shared = std::move(m);

    std::lock_guard lock(mu_);
    history_.push_back(shared);
    if (history_.size() > history_limit_) history_.pop_front();
    if (is_state(type)) latest_state_ = shared;
    last_seq_ = shared->seq;
    return shared;
}

bool Stream::continue_after(std::uint64_t seq) {
    std::lock_guard lock(mu_);
    if (last_seq_ != 0 || !history_.empty()) return false;
    last_seq_ = seq;
    return true;
}

MessagePtr Stream::ingest(std::uint64_t seq, MessageType type, std::int64_t time_ms,
                          std::string bytes, std::int64_t published_us) {
    // Only the ingesting thread writes last_seq_, so reading it unlocked here is safe.
    if (seq <= last_seq_) return nullptr;
    auto m = std::make_shared<Message>();
    m->stream = id_;
    m->type = type;
    m->time_ms = time_ms;
    m->published_us = published_us;
    m->seq = seq;
    m->bytes = std::move(bytes);
    m->header = text_frame_header(m->bytes.size());
    MessagePtr shared = std::move(m);

    std::lock_guard lock(mu_);
    // history_ holds consecutive seqs (catchup() indexes by offset): after a jump it restarts.
    if (seq != last_seq_ + 1) history_.clear();
    history_.push_back(shared);
    if (history_.size() > history_limit_) history_.pop_front();
    if (is_state(type)) latest_state_ = shared;
    last_seq_ = seq;
    return shared;
}

Stream::Catchup Stream::catchup(std::optional<std::uint64_t> since,
                                std::size_t max_messages) const {
    Catchup out;
    std::lock_guard lock(mu_);
    out.last_seq = last_seq_;
    if (since) {
        if (*since == last_seq_) return out;  // nothing missed
        const std::uint64_t oldest = history_.empty() ? last_seq_ + 1 : history_.front()->seq;
        if (*since < last_seq_ && *since + 1 >= oldest) {
            // history_ holds consecutive seqs, so the first wanted one sits at a known offset.
            auto first = history_.begin() + static_cast<std::ptrdiff_t>(*since + 1 - oldest);
            const auto available = static_cast<std::size_t>(history_.end() - first);
            out.messages.assign(
                first, first + static_cast<std::ptrdiff_t>(std::min(available, max_messages)));
            return out;
        }
        out.reset = true;
    }
    if (latest_state_) out.messages.push_back(latest_state_);
    return out;
}

Stream::Catchup Stream::catchup_for_epoch(std::optional<std::uint64_t> since, bool foreign_epoch,
                                          std::size_t max_messages) const {
    if (!foreign_epoch || !since) return catchup(since, max_messages);
    Catchup out = catchup(std::nullopt);
    out.reset = true;
    out.reason = ResetReason::epoch_changed;
    return out;
}

std::uint64_t Stream::last_seq() const {
    std::lock_guard lock(mu_);
    return last_seq_;
}

}  // namespace streambed::engine
