// metrics.hpp: counters of one I/O thread. Only the owning thread writes them (relaxed
// load+store, no contended atomics on the hot path); readers sum every shard's counters.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/catalog.hpp"

namespace streambed::engine {

class Counter {
  public:
    void add(std::uint64_t n = 1) {
        v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void sub(std::uint64_t n = 1) {
        v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }

  private:
    std::atomic<std::uint64_t> v_{0};
};

// Broadcast latency: publish → the frame's write started on the socket (Asio sends at once when
// the socket can take it), in microseconds. Snapshot and resume messages count with their age.
inline constexpr std::array<std::uint64_t, 12> kLatencyBucketsUs = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

// Due → hub: from the instant a message was due (its `time` on the world's clock) to its entry
// into this process's hub, published by the simulator or ingested from a cluster's Redis. On a
// cluster, a follower's against the source's is the Redis hop (docs/scale-out.md). Finer than
// the broadcast buckets: the hop's budget is a millisecond.
inline constexpr std::array<std::uint64_t, 13> kDueBucketsUs = {
    100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 50000};

// One writer at a time (the hub's publishing or ingesting thread), any reader.
struct DueLateness {
    std::array<Counter, kDueBucketsUs.size() + 1> buckets;  // last: +Inf
    Counter sum_us;
    Counter count;

    void observe(std::int64_t late_us) {
        const auto us = static_cast<std::uint64_t>(late_us < 0 ? 0 : late_us);  // early: 0
        std::size_t i = 0;
        while (i < kDueBucketsUs.size() && us > kDueBucketsUs[i]) ++i;
        buckets[i].add();
        sum_us.add(us);
        count.add();
    }
};

struct ShardCounters {
    std::array<Counter, kEndpointCount> connections;  // open WebSocket sessions per endpoint
    Counter connections_total;                        // ever opened
    Counter subscriptions;
    Counter messages_sent;  // data messages written (a batch frame counts each message)
    Counter frames_sent;
    Counter socket_writes;     // sends of frames (a gathered write carries many)
    Counter send_submissions;  // io_uring submissions, each carrying many connections' sends
    Counter held_messages;     // messages that waited in the shard's inbox for a hold window's end
    Counter bytes_sent;
    Counter conflated;
    Counter queued_bytes;        // gauge: bytes in the outbound queues of open connections
    Counter pressured_sessions;  // gauge: connections whose queue is past half its bound
    Counter slow_consumer_closes;
    Counter errors_sent;
    Counter messages_received;
    Counter http_requests;
    Counter upgrades_refused;
    std::array<Counter, kLatencyBucketsUs.size() + 1> latency_buckets;  // last: +Inf
    Counter latency_sum_us;
    Counter latency_count;

    void observe_latency(std::uint64_t us) {
        std::size_t i = 0;
        while (i < kLatencyBucketsUs.size() && us > kLatencyBucketsUs[i]) ++i;
        latency_buckets[i].add();
        latency_sum_us.add(us);
        latency_count.add();
    }
};

struct MetricsSnapshot {
    std::uint64_t active = 0;
    std::array<std::uint64_t, kEndpointCount> by_endpoint{};
    std::uint64_t connections_total = 0, subscriptions = 0, messages_sent = 0, frames_sent = 0,
                  socket_writes = 0, send_submissions = 0, held_messages = 0, bytes_sent = 0,
                  conflated = 0, queued_bytes = 0, slow_consumer_closes = 0, errors_sent = 0,
                  messages_received = 0, http_requests = 0, upgrades_refused = 0;
    std::array<std::uint64_t, kLatencyBucketsUs.size() + 1> latency_buckets{};
    std::uint64_t latency_sum_us = 0, latency_count = 0;
    std::uint64_t published = 0;
    struct Due {
        std::array<std::uint64_t, kDueBucketsUs.size() + 1> buckets{};
        std::uint64_t sum_us = 0, count = 0;
    };
    std::array<Due, kEndpointCount> due{};  // by endpoint

    void add(const ShardCounters& c);
    void add(Endpoint endpoint, const DueLateness& d);
};

std::string prometheus_text(const MetricsSnapshot& m);
std::string stats_json(const MetricsSnapshot& m);

}  // namespace streambed::engine
