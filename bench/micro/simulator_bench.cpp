// simulator_bench.cpp: generation plus serialization in the as-fast-as-possible mode — the
// World publishing into a Hub with no subscribers (framing and history included).
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "engine/clock.hpp"
#include "engine/hub.hpp"
#include "engine/stream.hpp"
#include "simulator/simulator_source.hpp"
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

// Keeps the data objects the world publishes, by message type, unframed.
class ByType final : public engine::Publisher {
  public:
    engine::StreamId declare_stream(engine::Endpoint, std::string_view) override { return 0; }
    engine::MessagePtr publish(engine::StreamId, engine::MessageType type, std::int64_t,
                               std::string_view data_json) override {
        auto& kept = samples[static_cast<std::size_t>(type)];
        if (kept.size() < 64) kept.emplace_back(data_json);
        return nullptr;
    }
    void set_clock(const engine::ClockAnchor&) override {}
    std::array<std::vector<std::string>, 16> samples;
};

// Serialization of one message of each type: the envelope framed around the world's own data
// objects of that type, its WebSocket header encoded, into history (Stream::append).
void BM_SerializeByType(benchmark::State& state) {
    static const ByType world_samples = [] {
        ByType capture;
        SimConfig config;
        World world(config, capture);
        for (int i = 0; i < 200000; ++i) world.advance();
        return capture;
    }();
    const auto type = static_cast<engine::MessageType>(state.range(0));
    const auto& samples = world_samples.samples[static_cast<std::size_t>(state.range(0))];
    if (samples.empty()) return state.SkipWithError("the world published no message of this type");
    engine::Stream stream(0, engine::Endpoint::channels, "ch-1", 1000);
    std::size_t i = 0, bytes = 0;
    for (auto _ : state) {
        auto m = stream.append(type, 1762732800000, samples[i++ % samples.size()], 0);
        bytes += m->bytes.size();
        benchmark::DoNotOptimize(m);
    }
    state.SetLabel(std::string(engine::name(type)));
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_SerializeByType)->DenseRange(0, static_cast<int>(engine::MessageType::metrics));

// A restart with --clock-start: SimulatorSource::start() catching up N simulated minutes (30 wall
// s ago at N × 2) into a Hub with no subscribers, before it returns. Per iteration: one start.
void BM_CatchUp(benchmark::State& state) {
    using namespace std::chrono;
    spdlog::set_level(spdlog::level::warn);  // not the "caught up" line of every iteration
    SimConfig config;
    config.time_scale = static_cast<double>(state.range(0)) * 2;
    std::uint64_t messages = 0;
    for (auto _ : state) {
        config.clock_start_ms = engine::wall_now_us() / 1000 - 30'000;
        engine::Hub hub(1000);
        SimulatorSource source(config);
        source.start(hub);
        state.PauseTiming();
        messages = source.catch_up().messages;
        source.stop();
        state.ResumeTiming();
    }
    state.counters["messages"] = static_cast<double>(messages);
    state.SetLabel(std::to_string(state.range(0)) + " simulated min");
}
BENCHMARK(BM_CatchUp)->Arg(10)->Arg(60)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace streambed::simulator

BENCHMARK_MAIN();
