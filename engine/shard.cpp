// shard.cpp: per-thread subscription tables and the delivery loop.
#include "engine/shard.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/clock.hpp"
#include "engine/thread_name.hpp"

namespace streambed::engine {

namespace asio = boost::asio;

Shard::Shard(unsigned index, std::chrono::microseconds coalesce_window,
             std::chrono::milliseconds heartbeat, bool send_ring)
    : index_(index), coalescer_(coalesce_window), want_ring_(send_ring), heartbeat_(heartbeat) {}

Shard::~Shard() {
    stop_thread();
}

void Shard::start_thread() {
    thread_ = std::thread([this] {
        name_this_thread("io-" + std::to_string(index_));
        // The ring is this thread's from its making to its end: the kernel interrupts the
        // threads that made or used a ring when it tears one down (a blocking read elsewhere
        // would fail with EINTR), and this thread is the only one that uses it.
        if (want_ring_) {
            std::string why;
            ring_ = SendRing::open(counters_.send_submissions, why);
            if (!ring_)
                spdlog::warn("I/O thread {}: io_uring refused ({}): one sendmsg per connection",
                             index_, why);
        }
        struct CloseRing {
            std::unique_ptr<SendRing>& ring;
            ~CloseRing() { ring.reset(); }
        } close_ring{ring_};
        auto guard = asio::make_work_guard(ioc_);
        // A handler that throws is a bug; it must not take every other connection down with it.
        while (true) {
            try {
                ioc_.run();
                return;
            } catch (const std::exception& e) {
                spdlog::error("I/O thread {}: unexpected exception: {}", index_, e.what());
            }
        }
    });
}

void Shard::stop_thread() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
}

void Shard::session_add(Subscriber* s) {
    sessions_.insert(s);
    if (!heartbeat_timer_ && heartbeat_.count() > 0) {
        heartbeat_timer_.emplace(ioc_);
        arm_heartbeat();
    }
}

void Shard::arm_heartbeat() {
    heartbeat_timer_->expires_after(std::max<std::chrono::microseconds>(
        heartbeat_ / kHeartbeatPhases, std::chrono::milliseconds(1)));
    heartbeat_timer_->async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        ++heartbeat_tick_;
        // A copy: a session that ends leaves the table later (posted), but not during this loop.
        heartbeat_list_.assign(sessions_.begin(), sessions_.end());
        const Batch pings(*this);
        for (auto* s : heartbeat_list_) s->heartbeat(heartbeat_tick_);
        arm_heartbeat();
    });
}

void Shard::on_stream_added(Stream* stream) {
    asio::post(ioc_, [this, stream] {
        if (stream->id() >= table_.size()) table_.resize(stream->id() + 1);
        // Copy: a subscriber may change the wildcard list while it reacts.
        auto wildcards = wildcard_[engine::index(stream->endpoint())];
        for (auto* s : wildcards) s->on_stream_added(stream);
    });
}

void Shard::on_message(MessagePtr message) {
    handed_.fetch_add(1, std::memory_order_relaxed);
    {
        // While the shard holds under a steady rate, its hold timer will run: the message waits
        // for it in the inbox, and this thread is not woken once per message.
        std::lock_guard lock(inbox_mu_);
        if (inbox_open_) {
            inbox_.push_back(std::move(message));
            return;
        }
    }
    asio::post(ioc_, [this, m = std::move(message)] { deliver(m); });
}

void Shard::deliver(const MessagePtr& m) {
    const auto delivered = delivered_.load(std::memory_order_relaxed) + 1;
    delivered_.store(delivered, std::memory_order_relaxed);
    if (m->stream >= table_.size()) return;  // no subscriber has seen this stream yet
    // Under a steady rate (Coalescer) the writes wait for the hold window's end, so that
    // what is due within it joins them. Otherwise, with no other message waiting for this
    // thread, nothing would join a deferred write: each connection writes at once (the
    // first clients do not wait for the whole loop); with a backlog (a burst), writes wait
    // for the end of the turn and gather (defer_flush).
    const bool steady_rate = coalescer_.enabled() && coalescer_.arrive(steady_now_us());
    const bool at_once = !steady_rate && handed_.load(std::memory_order_relaxed) == delivered;
    holding_ = steady_rate;
    deliver_to(table_[m->stream], m, at_once);
    holding_ = false;
    // The hold timer runs: until it fires, what is published waits in the inbox.
    if (hold_armed_) {
        std::lock_guard lock(inbox_mu_);
        inbox_open_ = true;
    }
}

void Shard::deliver_to(const std::vector<Subscriber*>& subs, const MessagePtr& m, bool at_once) {
    // Subscribers never leave a table during delivery (removal is deferred), so plain
    // iteration is safe.
    if (subs.size() < kShardReferenceFrom) {
        for (auto* s : subs) s->deliver(m, at_once);
        return;
    }
    // Writing at once, the connections' writes leave together (SendRing).
    std::optional<Batch> writes;
    if (at_once) writes.emplace(*this);
    // Every subscriber's queue takes a copy of the pointer. Copies of `m` itself would all
    // count on the one reference count every shard shares, a cache line that then bounces
    // between cores on each delivery; this shard's own count stays in its core's cache.
    const MessagePtr local(m.get(), [keep = m](const Message*) {});
    // After seconds of quiet, every subscriber's memory is cold: each deliver() would wait
    // on one cache miss after another. Fetching ahead overlaps them with the work (and, when
    // writing at once, the system call) of the subscribers before.
    const std::size_t n = subs.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (i + 4 < n) {
            const auto* object = reinterpret_cast<const char*>(subs[i + 4]);
            for (int line = 0; line < kPrefetchLines; ++line)
                __builtin_prefetch(object + 64 * line);
        }
        if (i + 2 < n) subs[i + 2]->prefetch(0);
        if (i + 1 < n) subs[i + 1]->prefetch(1);
        subs[i]->deliver(local, at_once);
    }
}

// The hold window is over: what waited in the inbox is delivered (in order, after every message
// posted before the inbox opened), then every held write leaves.
void Shard::end_hold() {
    {
        std::lock_guard lock(inbox_mu_);
        inbox_open_ = false;
        draining_.swap(inbox_);
    }
    counters_.held_messages.add(draining_.size());
    for (const auto& m : draining_) deliver(m);
    draining_.clear();
    flush_pending();
}

Backlog Shard::backlog() const {
    const auto delivered = delivered_.load(std::memory_order_relaxed);
    const auto handed = handed_.load(std::memory_order_relaxed);
    return {handed > delivered ? handed - delivered : 0, counters_.queued_bytes.get(),
            counters_.pressured_sessions.get()};
}

std::uint32_t Shard::table_add(StreamId stream, Subscriber* s) {
    if (stream >= table_.size()) table_.resize(stream + 1);
    auto& subs = table_[stream];
    subs.push_back(s);
    counters_.subscriptions.add();
    return static_cast<std::uint32_t>(subs.size() - 1);
}

void Shard::table_remove(StreamId stream, std::uint32_t slot) {
    auto& subs = table_[stream];
    if (slot + 1 != subs.size()) {
        subs[slot] = subs.back();
        subs[slot]->moved(stream, slot);
    }
    subs.pop_back();
    counters_.subscriptions.sub();
}

void Shard::wildcard_add(Endpoint endpoint, Subscriber* s) {
    auto& w = wildcard_[engine::index(endpoint)];
    if (std::find(w.begin(), w.end(), s) == w.end()) w.push_back(s);
}

void Shard::wildcard_remove(Endpoint endpoint, Subscriber* s) {
    auto& w = wildcard_[engine::index(endpoint)];
    w.erase(std::remove(w.begin(), w.end(), s), w.end());
}

void Shard::defer_flush(Subscriber* s) {
    flush_pending_.push_back(s);
    if (holding_) {
        if (hold_armed_) return;
        hold_armed_ = true;
        if (!hold_timer_) hold_timer_.emplace(ioc_);
        hold_timer_->expires_after(coalescer_.window());
        hold_timer_->async_wait([this](boost::system::error_code ec) {
            hold_armed_ = false;
            if (!ec) end_hold();
        });
        return;
    }
    if (turn_posted_) return;
    turn_posted_ = true;
    asio::post(ioc_, [this] {
        turn_posted_ = false;
        flush_pending();
    });
}

void Shard::flush_pending() {
    flushing_.swap(flush_pending_);
    const Batch writes(*this);
    // A flush may defer again (more was queued than one write takes): that goes in the fresh
    // pending list, for the next turn.
    for (std::size_t i = 0; i < flushing_.size(); ++i)
        if (auto* pending = flushing_[i]) pending->flush();
    flushing_.clear();
}

void Shard::cancel_flush(Subscriber* s) {
    std::replace(flush_pending_.begin(), flush_pending_.end(), s,
                 static_cast<Subscriber*>(nullptr));
    std::replace(flushing_.begin(), flushing_.end(), s, static_cast<Subscriber*>(nullptr));
}

void Shard::close_all_for_shutdown() {
    auto all = std::vector<Subscriber*>(sessions_.begin(), sessions_.end());
    for (auto* s : all) s->close_for_shutdown();
}

}  // namespace streambed::engine
