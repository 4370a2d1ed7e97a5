// flood_source.cpp: samples from the world, then publishing at a rate or at saturation.
#include "simulator/flood_source.hpp"

#include <chrono>
#include <stdexcept>

#include "engine/clock.hpp"
#include "engine/epoch.hpp"
#include "engine/hub.hpp"
#include "simulator/world.hpp"

namespace streambed::simulator {
namespace {

// How many distinct metrics objects are taken from the world (about two simulated minutes).
constexpr std::size_t kSamples = 64;

// Keeps the data of the world's metrics messages; everything else is dropped unframed.
class MetricsSampler final : public engine::Publisher {
  public:
    engine::StreamId declare_stream(engine::Endpoint endpoint, std::string_view) override {
        endpoints_.push_back(endpoint);
        return static_cast<engine::StreamId>(endpoints_.size() - 1);
    }
    engine::MessagePtr publish(engine::StreamId stream, engine::MessageType, std::int64_t,
                               std::string_view data_json) override {
        if (endpoints_.at(stream) == engine::Endpoint::metrics) samples.emplace_back(data_json);
        return nullptr;
    }
    void set_clock(const engine::ClockAnchor&) override {}

    std::vector<std::string> samples;

  private:
    std::vector<engine::Endpoint> endpoints_;
};

}  // namespace

FloodSource::FloodSource(const SimConfig& config, std::optional<double> rate) : rate_(rate) {
    if (rate_ && !(*rate_ > 0)) throw std::invalid_argument("the flood rate must be positive");
    validate(config);
    MetricsSampler sampler;
    World world(config, sampler);
    while (sampler.samples.size() < kSamples) world.advance();
    samples_ = std::move(sampler.samples);
}

FloodSource::~FloodSource() {
    stop();
}

void FloodSource::start(engine::Publisher& publisher) {
    // Its messages carry wall-clock stamps: no other run publishes the same bytes for a seq.
    publisher.set_epoch(engine::random_epoch("flood-"));
    stream_ = publisher.declare_stream(engine::Endpoint::metrics, "metrics");
    // Simulated time is the wall clock. A message's time is the millisecond of its publish, so its
    // lateness counts from the start of that millisecond.
    publisher.set_clock(engine::wall_clock_anchor(engine::wall_now_us()));
    thread_.start([this, &publisher] { run(publisher); });
}

void FloodSource::stop() {
    thread_.stop();
}

void FloodSource::run(engine::Publisher& publisher) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    std::uint64_t n = 0;
    auto publish_next = [&] {
        publisher.publish(stream_, engine::MessageType::metrics, engine::wall_now_us() / 1000,
                          samples_[n % samples_.size()]);
        ++n;
    };
    while (thread_.running()) {
        if (rate_) {
            // Everything due by now goes out at once: the wait may oversleep a short interval.
            const auto due =
                start + std::chrono::duration_cast<clock::duration>(
                            std::chrono::duration<double>(static_cast<double>(n) / *rate_));
            if (due > clock::now() && !thread_.wait_until(due)) return;
            publish_next();
            continue;
        }
        const engine::Backlog b = publisher.backlog();
        if (b.messages > kMaxBacklogMessages || b.queued_bytes > kMaxQueuedBytes ||
            b.pressured_connections > 0 || b.tap_fill > 0.5) {
            if (!thread_.wait_until(clock::now() + std::chrono::microseconds(100))) return;
            continue;
        }
        publish_next();
    }
}

}  // namespace streambed::simulator
