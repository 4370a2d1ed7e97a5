// simulator_bench.cpp: generation plus serialization in the as-fast-as-possible mode — the
// World publishing into a Hub with no subscribers (framing and history included).
#include <benchmark/benchmark.h>

#include "engine/hub.hpp"
#include "simulator/world.hpp"

namespace streambed::simulator {
namespace {

void BM_WorldGenerate(benchmark::State& state) {
    SimConfig config;
    config.tx_per_second = static_cast<double>(state.range(0));
    engine::Hub hub(1000);
    World world(config, hub);
    for (auto _ : state) world.advance();
    state.SetItemsProcessed(static_cast<std::int64_t>(world.messages_published()));
    state.counters["messages_per_event"] =
        static_cast<double>(world.messages_published()) / static_cast<double>(state.iterations());
}
// Transactions per second per channel: the default 4, and a busy network.
BENCHMARK(BM_WorldGenerate)->Arg(4)->Arg(1000);

}  // namespace
}  // namespace streambed::simulator

BENCHMARK_MAIN();
