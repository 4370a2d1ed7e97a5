// simulator_source.cpp: the clock anchor, the catch-up of a restarted world, the pacing thread.
#include "simulator/simulator_source.hpp"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "engine/clock.hpp"
#include "simulator/world.hpp"

namespace streambed::simulator {
namespace {

// The catch-up checks the server's backlog every this many messages, and waits while more than
// kCatchUpMaxBacklog messages are on their way to an I/O thread or the recorder's queue is half
// full: what it publishes is held in memory until delivered (or recorded), so it may run ahead
// of the I/O threads by a bounded amount only — and a recorded restart drops nothing.
constexpr std::uint64_t kCatchUpCheckEvery = 256;
constexpr std::uint64_t kCatchUpMaxBacklog = 16384;

// CPU time of the calling thread: the catch-up's own cost, apart from what the machine's load adds.
std::chrono::microseconds thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::microseconds(static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 +
                                     ts.tv_nsec / 1000);
}

}  // namespace

SimulatorSource::SimulatorSource(SimConfig config) : config_(config) {
    validate(config_);
}

SimulatorSource::~SimulatorSource() {
    stop();
}

void SimulatorSource::start(engine::Publisher& publisher) {
    using namespace std::chrono;
    const bool paced = config_.time_scale > 0;
    // The epoch and the clock come first: a welcome written from now on carries both.
    publisher.set_epoch(world_epoch(config_));
    const auto steady_now = steady_clock::now();
    const std::int64_t wall_now = engine::wall_now_us();
    // The wall instant the epoch is due: now, or the clock start of a world already running.
    const std::int64_t wall_start_us =
        config_.clock_start_ms ? *config_.clock_start_ms * 1000 : wall_now;
    steady_start_ = steady_now - microseconds(wall_now - wall_start_us);
    const engine::ClockAnchor clock{config_.epoch_ms, wall_start_us,
                                    paced ? config_.time_scale : 0.0};
    publisher.set_clock(clock);
    // The streams exist before start() returns, so a client connecting right after sees them.
    world_ = std::make_shared<World>(config_, publisher);
    sim_time_ = config_.epoch_ms;
    if (!checkpoints_.from.empty()) world_->restore(checkpoints_.from);
    if (checkpoints_.every_ms > 0) next_checkpoint_ms_ = mark_after(world_->next_event_ms());
    if (config_.clock_start_ms && paced && wall_now > wall_start_us)
        catch_up_to(publisher, engine::sim_at(clock, wall_now));
    thread_.start([this, &publisher] { run(publisher); });
}

void SimulatorSource::catch_up_to(engine::Publisher& publisher, std::int64_t sim_now_ms) {
    using namespace std::chrono;
    const auto began = steady_clock::now();
    const auto cpu_began = thread_cpu();
    World& world = *world_;
    std::int64_t until = sim_now_ms;
    if (config_.stop_after_ms >= 0)
        until = std::min(until, config_.epoch_ms + config_.stop_after_ms);
    const std::uint64_t before = world.messages_published();
    const bool restored = !checkpoints_.from.empty();
    const std::int64_t from_ms = restored ? world.next_event_ms() : config_.epoch_ms;
    std::uint64_t events = 0;
    while (world.next_event_ms() <= until) {
        sim_time_ = world.next_event_ms();
        world.advance();
        maybe_checkpoint(world);
        if (++events % kCatchUpCheckEvery != 0) continue;
        for (auto b = publisher.backlog(); b.messages > kCatchUpMaxBacklog || b.tap_fill > 0.5;
             b = publisher.backlog())
            std::this_thread::sleep_for(microseconds(200));  // a throttle, not a synchronization
    }
    catch_up_ = {
        world.messages_published() - before, std::max<std::int64_t>(0, sim_now_ms - from_ms),
        duration_cast<microseconds>(steady_clock::now() - began), thread_cpu() - cpu_began};
    spdlog::info("caught up {} messages ({} simulated s{}) in {:.1f} ms ({:.1f} ms CPU)",
                 catch_up_.messages, catch_up_.simulated_ms / 1000,
                 restored ? " from a checkpoint" : "",
                 static_cast<double>(catch_up_.wall.count()) / 1000.0,
                 static_cast<double>(catch_up_.cpu.count()) / 1000.0);
}

void SimulatorSource::stop() {
    thread_.stop();
}

void SimulatorSource::run(engine::Publisher& publisher) {
    using namespace std::chrono;
    World& world = *world_;
    const bool paced = config_.time_scale > 0;
    const auto steady_start = steady_start_;
    while (true) {
        const std::int64_t t = world.next_event_ms();
        const auto due =
            paced ? steady_start +
                        duration_cast<steady_clock::duration>(duration<double, std::micro>(
                            engine::wall_span_us(config_.time_scale, t - config_.epoch_ms)))
                  : steady_clock::time_point::min();
        const bool ended =
            config_.stop_after_ms >= 0 && t > config_.epoch_ms + config_.stop_after_ms;
        // What the last event published leaves, or waits for the next's: at the world's end
        // no event follows, so nothing may wait for one.
        publisher.idle(ended ? steady_clock::time_point::max() : due);
        if (ended) break;
        if (paced) {
            if (!thread_.wait_until(due)) return;
        } else if (!thread_.running()) {
            return;
        }
        world.advance();
        sim_time_ = t;
        maybe_checkpoint(world);
    }
    finished_ = true;
}

std::int64_t SimulatorSource::mark_after(std::int64_t t) const {
    const std::int64_t every = checkpoints_.every_ms;
    return config_.epoch_ms + ((t - config_.epoch_ms) / every + 1) * every;
}

void SimulatorSource::maybe_checkpoint(const World& world) {
    if (checkpoints_.every_ms <= 0 || world.next_event_ms() < next_checkpoint_ms_) return;
    checkpoints_.save(next_checkpoint_ms_, world.checkpoint());
    next_checkpoint_ms_ = mark_after(world.next_event_ms());
}

}  // namespace streambed::simulator
