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
    for (auto it = queue_.rbegin(); it != queue_.rend() - static_cast<std::ptrdiff_t>(head_);
         ++it) {
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
        const auto first = queue_.begin() + static_cast<std::ptrdiff_t>(head_);
        queue_.erase(std::remove(first, queue_.end(), nullptr), queue_.end());
        conflated_ += dropped;
    }
    return dropped;
}

std::span<const MessagePtr> OutboundQueue::begin_write(std::size_t max_messages,
                                                       std::size_t max_bytes, bool control_alone) {
    if (!inflight_.empty() || !has_queued()) return {};
    // Conflation cannot touch what is in flight: a write takes at most half the bound, so the
    // other half is always there for the newest state of each stream (else a slow reader of
    // states alone would be closed 1013 whenever a large write was under way).
    max_bytes = std::min(max_bytes, limit_ / 2);
    std::size_t taken_bytes = 0;
    while (has_queued() && inflight_.size() < max_messages) {
        MessagePtr& front = queue_[head_];
        const std::size_t size = front->bytes.size();
        if (!inflight_.empty() && taken_bytes + size > max_bytes) break;
        if (control_alone && !inflight_.empty() &&
            (front->stream == kNoStream || inflight_.front()->stream == kNoStream))
            break;
        taken_bytes += size;
        inflight_.push_back(std::move(front));
        ++head_;
    }
    compact();
    queued_bytes_ -= taken_bytes;
    inflight_bytes_ = taken_bytes;
    return inflight_;
}

void OutboundQueue::compact() {
    if (head_ == queue_.size()) {
        queue_.clear();
        head_ = 0;
        // Past a burst an idle connection keeps no list (a few entries stay: no churn).
        if (queue_.capacity() > 64) std::vector<MessagePtr>().swap(queue_);
    } else if (head_ >= 64 && head_ * 2 >= queue_.size()) {
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

void OutboundQueue::end_write() {
    inflight_.clear();
    inflight_bytes_ = 0;
}

void OutboundQueue::clear() {
    queue_.clear();
    head_ = 0;
    queued_bytes_ = 0;
}

}  // namespace streambed::engine
