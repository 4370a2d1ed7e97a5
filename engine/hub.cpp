// hub.cpp: stream registry, publish and hand-off to the fan-out targets.
#include "engine/hub.hpp"

#include <algorithm>
#include <stdexcept>

#include "engine/clock.hpp"
#include "engine/epoch.hpp"

namespace streambed::engine {

bool valid_channel_id(std::string_view channel) {
    if (channel.empty() || channel.size() > 64) return false;
    for (char c : channel) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Hub::Hub(std::size_t history_limit)
    : history_limit_(history_limit == 0 ? 1 : history_limit),
      // Until a source anchors it: simulated time is the wall clock.
      clock_(wall_clock_anchor(wall_now_us())) {
    // Until a source names its world, no other server shares it: a resume recovers nothing.
    epoch_ = random_epoch("run-");
    set_clock(clock_);  // the default anchor into the lock-free copy the due timing reads
}

void Hub::attach(FanoutTarget* target) {
    targets_.push_back(target);
}

StreamId Hub::declare_stream(Endpoint endpoint, std::string_view channel) {
    if (!valid_channel_id(channel))
        throw std::invalid_argument("invalid channel id '" + std::string(channel) + "'");
    const auto& single = info(endpoint).single_channel;
    if (!single.empty() && channel != single)
        throw std::invalid_argument("endpoint " + std::string(info(endpoint).path) +
                                    " has the single channel '" + std::string(single) + "'");
    Stream* added = nullptr;
    {
        std::unique_lock lock(registry_mu_);
        for (auto& s : streams_)
            if (s->endpoint() == endpoint && s->channel() == channel) return s->id();
        const auto id = static_cast<StreamId>(streams_.size());
        streams_.push_back(
            std::make_unique<Stream>(id, endpoint, std::string(channel), history_limit_));
        added = streams_.back().get();
        stream_count_.store(streams_.size(), std::memory_order_release);
    }
    if (tap_) tap_->stream_declared(added->id(), endpoint, added->channel());
    for (auto* t : targets_) t->on_stream_added(added);
    return added->id();
}

MessagePtr Hub::publish(StreamId id, MessageType type, std::int64_t time_ms,
                        std::string_view data_json) {
    // The registry grows only on this (the publisher's) thread, so it is read here unlocked.
    if (id >= streams_.size()) throw std::out_of_range("publish to an undeclared stream");
    MessagePtr m = streams_[id]->append(type, time_ms, data_json, steady_now_us());
    published_.fetch_add(1, std::memory_order_relaxed);
    observe_due(streams_[id]->endpoint(), time_ms);
    if (tap_) tap_->published(m);
    for (auto* t : targets_) t->on_message(m);
    return m;
}

bool Hub::continue_after(StreamId id, std::uint64_t seq) {
    if (id >= streams_.size()) throw std::out_of_range("continue_after on an undeclared stream");
    return streams_[id]->continue_after(seq);
}

MessagePtr Hub::ingest(StreamId id, std::uint64_t seq, MessageType type, std::int64_t time_ms,
                       std::string bytes) {
    if (id >= streams_.size()) throw std::out_of_range("ingest to an undeclared stream");
    MessagePtr m = streams_[id]->ingest(seq, type, time_ms, std::move(bytes), steady_now_us());
    if (!m) return m;
    published_.fetch_add(1, std::memory_order_relaxed);
    observe_due(streams_[id]->endpoint(), time_ms);
    if (tap_) tap_->published(m);
    for (auto* t : targets_) t->on_message(m);
    return m;
}

boost::asio::io_context* Hub::ingest_context() const {
    for (auto* t : targets_)
        if (auto* ioc = t->io_context()) return ioc;
    return nullptr;
}

void Hub::set_clock(const ClockAnchor& clock) {
    std::lock_guard lock(clock_mu_);
    clock_ = clock;
    due_sim_ms_.store(clock.sim_ms, std::memory_order_relaxed);
    due_wall_us_.store(clock.wall_us, std::memory_order_relaxed);
    due_scale_.store(clock.scale, std::memory_order_relaxed);
}

void Hub::observe_due(Endpoint endpoint, std::int64_t time_ms) {
    const double scale = due_scale_.load(std::memory_order_relaxed);
    if (scale <= 0) return;  // unpaced: nothing is due at any instant
    const ClockAnchor a{due_sim_ms_.load(std::memory_order_relaxed),
                        due_wall_us_.load(std::memory_order_relaxed), scale};
    due_[index(endpoint)].observe(lateness_us(a, time_ms, wall_now_us()));
}

void Hub::set_epoch(std::string epoch) {
    std::lock_guard lock(clock_mu_);
    epoch_ = std::move(epoch);
}

std::string Hub::epoch() const {
    std::lock_guard lock(clock_mu_);
    return epoch_;
}

Stream* Hub::find(Endpoint endpoint, std::string_view channel) const {
    std::shared_lock lock(registry_mu_);
    for (auto& s : streams_)
        if (s->endpoint() == endpoint && s->channel() == channel) return s.get();
    return nullptr;
}

std::vector<Stream*> Hub::streams_of(Endpoint endpoint) const {
    std::vector<Stream*> out;
    std::shared_lock lock(registry_mu_);
    for (auto& s : streams_)
        if (s->endpoint() == endpoint) out.push_back(s.get());
    return out;
}

std::size_t Hub::stream_count() const {
    return stream_count_.load(std::memory_order_acquire);
}

Backlog Hub::backlog() const {
    Backlog b;
    if (tap_) b.tap_fill = tap_->fill();
    for (auto* t : targets_) {
        const Backlog tb = t->backlog();
        b.messages = std::max(b.messages, tb.messages);
        b.queued_bytes += tb.queued_bytes;
        b.pressured_connections += tb.pressured_connections;
    }
    return b;
}

ClockAnchor Hub::clock() const {
    std::lock_guard lock(clock_mu_);
    return clock_;
}

}  // namespace streambed::engine
