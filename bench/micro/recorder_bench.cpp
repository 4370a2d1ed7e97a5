// recorder_bench.cpp: the recorder's writer — frames per second from the tap into SQLite
// (queue, batching, inserts, commit), measured end to end: events are offered as fast as the
// writer takes them, and the time runs until finish() has committed the last one.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "engine/hub.hpp"
#include "recorder/recorder.hpp"

namespace streambed::recorder {
namespace {

void BM_RecorderFrames(benchmark::State& state) {
    const std::string path = "/tmp/streambed-recorder-bench-" + std::to_string(::getpid()) + ".db";
    const auto frames = static_cast<std::size_t>(state.range(0));
    double sustained = 0, closing = 0;
    for (auto _ : state) {
        state.PauseTiming();
        for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
        engine::Hub hub(1000);
        RecorderOptions options;
        auto rec = std::make_unique<Recorder>(path, RunInfo{"bench", 1, "{}"}, options);
        hub.set_tap(rec.get());
        auto id = hub.declare_stream(engine::Endpoint::metrics, "metrics");
        auto m = hub.publish(id, engine::MessageType::metrics, 0, R"({"tps":1.0})");
        for (std::uint64_t s = 1; s <= 1000; ++s)
            rec->session_opened(
                {s, "s", engine::Endpoint::metrics, "127.0.0.1:1", "/ws/metrics", 0});
        // The stream, the message and the opens: written before the frames are counted.
        const std::uint64_t before = 1002;
        state.ResumeTiming();
        const auto start = std::chrono::steady_clock::now();
        // 1,000 sessions receiving the same message: the broadcast case.
        for (std::size_t i = 0; i < frames; ++i)
            rec->frame_out(1 + i % 1000, &m, 1, static_cast<std::int64_t>(i));
        while (rec->written() + rec->dropped() < before + frames) std::this_thread::yield();
        const auto committed = std::chrono::steady_clock::now();
        rec->finish();  // then the run is closed, frames indexed by session, the WAL checkpointed
        const auto finished = std::chrono::steady_clock::now();
        state.PauseTiming();
        sustained += std::chrono::duration<double>(committed - start).count();
        closing += std::chrono::duration<double>(finished - committed).count();
        if (rec->dropped() != 0) state.SkipWithError("frames were dropped");
        rec.reset();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames));
    // Frames per second until the last one is committed, and the one-off cost of closing the run.
    state.counters["sustained_per_second"] =
        static_cast<double>(state.iterations() * frames) / sustained;
    state.counters["finish_ms"] = closing * 1000.0 / static_cast<double>(state.iterations());
    for (const char* s : {"", "-wal", "-shm"}) std::remove((path + s).c_str());
}
// 1,048,576 frames is the measurement; 4,096 keeps the smoke run of `make test` short.
BENCHMARK(BM_RecorderFrames)
    ->Arg(1 << 20)
    ->Arg(1 << 12)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace streambed::recorder

BENCHMARK_MAIN();
