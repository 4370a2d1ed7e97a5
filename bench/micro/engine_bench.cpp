// engine_bench.cpp: micro-benchmarks of the engine's hot paths — framing a data message,
// queueing and conflation, parsing a client message, and the shard's delivery loop.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>

#include "engine/hub.hpp"
#include "engine/outbound_queue.hpp"
#include "engine/protocol.hpp"
#include "engine/shard.hpp"
#include "engine/stream.hpp"

namespace streambed::engine {
namespace {

const std::string kMetrics =
    R"({"tps":1234.56,"txTotal":987654,"blockHeight":4321,"cpuPercent":37.5,"memoryMb":540.2})";

void BM_StreamAppend(benchmark::State& state) {
    Stream s(0, Endpoint::metrics, "metrics", 1000);
    std::int64_t t = 0;
    for (auto _ : state) benchmark::DoNotOptimize(s.append(MessageType::metrics, ++t, kMetrics, 0));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StreamAppend);

// The WebSocket header of a server frame: 2, 4 or 10 bytes by payload length.
void BM_FrameHeader(benchmark::State& state) {
    std::size_t size = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        benchmark::DoNotOptimize(size);
        benchmark::DoNotOptimize(text_frame_header(size));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameHeader)->Arg(100)->Arg(1000)->Arg(100000);

void BM_QueuePushWrite(benchmark::State& state) {
    OutboundQueue q(1 << 20);
    Stream s(0, Endpoint::metrics, "metrics", 16);
    auto m = s.append(MessageType::metrics, 1, kMetrics, 0);
    for (auto _ : state) {
        q.push(m);
        benchmark::DoNotOptimize(q.begin_write(1, 1 << 16));
        q.end_write();
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueuePushWrite);

void BM_QueueConflateUnderPressure(benchmark::State& state) {
    // A full queue of states from 8 streams: every push conflates.
    std::vector<std::unique_ptr<Stream>> streams;
    for (StreamId i = 0; i < 8; ++i)
        streams.push_back(
            std::make_unique<Stream>(i, Endpoint::channels, "ch-" + std::to_string(i), 16));
    const std::size_t size =
        streams[0]->append(MessageType::channel_update, 0, kMetrics, 0)->bytes.size();
    OutboundQueue q(size * 64);
    std::size_t i = 0;
    for (auto _ : state) {
        auto m = streams[i++ % 8]->append(MessageType::channel_update, 1, kMetrics, 0);
        benchmark::DoNotOptimize(q.push(std::move(m)));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueConflateUnderPressure);

void BM_ParseSubscribe(benchmark::State& state) {
    const std::string text =
        R"({"action":"subscribe","channels":["ch-1","ch-2"],"since":{"ch-1":1041}})";
    for (auto _ : state) benchmark::DoNotOptimize(parse_client_message(text));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseSubscribe);

// A subscriber without a socket: it counts what it is given and remembers its table slot.
struct BenchSubscriber final : Subscriber {
    std::uint64_t seen = 0;
    std::uint32_t slot = 0;
    void deliver(const MessagePtr& m, bool) override { seen += m->seq; }
    void moved(StreamId, std::uint32_t s) override { slot = s; }
    void on_stream_added(Stream*) override {}
    void close_for_shutdown() override {}
    void flush() override {}
    void heartbeat(std::uint64_t) override {}
    void prefetch(int) const override {}
};

// The shard's delivery loop to N subscribers (no sockets): the cost the engine adds per
// delivery before the write.

void BM_ShardFanout(benchmark::State& state) {
    Hub hub(1000);
    Shard shard(0);
    hub.attach(&shard);
    const auto id = hub.declare_stream(Endpoint::metrics, "metrics");
    std::vector<BenchSubscriber> subs(static_cast<std::size_t>(state.range(0)));
    shard.ioc().poll();
    for (auto& s : subs) shard.table_add(id, &s);
    for (auto _ : state) {
        hub.publish(id, MessageType::metrics, 0, kMetrics);
        shard.ioc().restart();
        shard.ioc().poll();
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ShardFanout)->RangeMultiplier(10)->Range(1, 100000);

// Subscribing and unsubscribing one more session on a stream that already has N subscribers:
// O(1) whatever N (append, and swap-with-last on removal).
void BM_SubscribeUnsubscribe(benchmark::State& state) {
    Hub hub(16);
    Shard shard(0);
    hub.attach(&shard);
    const auto id = hub.declare_stream(Endpoint::metrics, "metrics");
    std::vector<BenchSubscriber> subs(static_cast<std::size_t>(state.range(0)));
    for (auto& s : subs) s.slot = shard.table_add(id, &s);
    BenchSubscriber churn;
    std::size_t i = 0;
    for (auto _ : state) {
        // Alternate which entry leaves, so removals are not always of the last slot.
        churn.slot = shard.table_add(id, &churn);
        auto& leaving = (++i % 2) ? churn : subs[i % subs.size()];
        shard.table_remove(id, leaving.slot);
        if (&leaving != &churn) {
            shard.table_remove(id, churn.slot);
            leaving.slot = shard.table_add(id, &leaving);
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SubscribeUnsubscribe)->RangeMultiplier(100)->Range(1, 100000);

}  // namespace
}  // namespace streambed::engine

BENCHMARK_MAIN();
