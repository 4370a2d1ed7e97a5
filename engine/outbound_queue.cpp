// outbound_queue.cpp: bounded queueing and conflation of state messages.
#include "engine/outbound_queue.hpp"

#include <algorithm>

namespace streambed::engine {

PushResult OutboundQueue::push(MessagePtr m) {
    const std::size_t size = m->bytes.size();
    PushResult result = PushResult::queued;
    if (bytes() + size > limit_) {
        conflate(m.get());
        if (bytes() + size > limit_) return PushResult::overflow;
        result = PushResult::conflated;
    }
    queued_bytes_ += size;
    queue_.push_back(std::move(m));
    return result;
}

std::size_t OutboundQueue::conflate(const Message* incoming) {
    // Walk from newest to oldest; a state message is dropped when a newer one of its stream is
    // queued (or arriving). Streams per connection are few, so a small vector is the set.
    std::vector<StreamId> seen;
    if (is_state(incoming->type)) seen.push_back(incoming->stream);
    std::size_t dropped = 0;
    for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
        const Message& q = **it;
        if (!is_state(q.type)) continue;
        if (std::find(seen.begin(), seen.end(), q.stream) != seen.end()) {
            queued_bytes_ -= q.bytes.size();
            it->reset();
            ++dropped;
        } else {
            seen.push_back(q.stream);
        }
    }
    if (dropped) {
        queue_.erase(std::remove(queue_.begin(), queue_.end(), nullptr), queue_.end());
        conflated_ += dropped;
    }
    return dropped;
}

std::span<const MessagePtr> OutboundQueue::begin_write(std::size_t max_messages,
                                                       std::size_t max_bytes, bool control_alone) {
    if (!inflight_.empty() || queue_.empty()) return {};
    // Conflation cannot touch what is in flight: a write takes at most half the bound, so the
    // other half is always there for the newest state of each stream (else a slow reader of
    // states alone would be closed 1013 whenever a large write was under way).
    max_bytes = std::min(max_bytes, limit_ / 2);
    std::size_t taken_bytes = 0;
    while (!queue_.empty() && inflight_.size() < max_messages) {
        const std::size_t size = queue_.front()->bytes.size();
        if (!inflight_.empty() && taken_bytes + size > max_bytes) break;
        if (control_alone && !inflight_.empty() &&
            (queue_.front()->stream == kNoStream || inflight_.front()->stream == kNoStream))
            break;
        taken_bytes += size;
        inflight_.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    queued_bytes_ -= taken_bytes;
    inflight_bytes_ = taken_bytes;
    return inflight_;
}

void OutboundQueue::end_write() {
    inflight_.clear();
    inflight_bytes_ = 0;
}

void OutboundQueue::clear() {
    queue_.clear();
    queued_bytes_ = 0;
}

}  // namespace streambed::engine
