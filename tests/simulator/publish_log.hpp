// publish_log.hpp: the simulator tests' Publisher — it frames through a real Hub and keeps every
// message — and running a SimulatorSource unpaced to the end of its configured duration.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "engine/hub.hpp"
#include "simulator/simulator_source.hpp"

namespace streambed::simulator {

constexpr std::int64_t kEpoch = 1762732800000;
constexpr std::int64_t kTenMinutes = 10 * 60 * 1000;

// A Publisher that frames through a real Hub and records every message it returns.
class PublishLog final : public engine::Publisher {
  public:
    struct StreamLog {
        engine::Endpoint endpoint;
        std::string channel;
        std::vector<engine::MessagePtr> messages;
    };

    engine::StreamId declare_stream(engine::Endpoint endpoint, std::string_view channel) override {
        const engine::StreamId id = hub_.declare_stream(endpoint, channel);
        if (id >= streams_.size()) streams_.resize(id + 1);
        streams_[id].endpoint = endpoint;
        streams_[id].channel = std::string(channel);
        return id;
    }
    engine::MessagePtr publish(engine::StreamId stream, engine::MessageType type,
                               std::int64_t time_ms, std::string_view data_json) override {
        engine::MessagePtr m = hub_.publish(stream, type, time_ms, data_json);
        streams_.at(stream).messages.push_back(m);
        all_.push_back(m);
        return m;
    }
    void set_clock(const engine::ClockAnchor& clock) override {
        hub_.set_clock(clock);
        clock_ = clock;
        ++clock_sets_;
    }

    const std::vector<StreamLog>& streams() const { return streams_; }
    const std::vector<engine::MessagePtr>& all() const { return all_; }
    const engine::ClockAnchor& clock() const { return clock_; }
    int clock_sets() const { return clock_sets_; }

    // "/ws/channels ch-1" -> the bytes of each of the stream's messages, in order.
    std::map<std::string, std::vector<std::string>> bytes_by_stream() const {
        std::map<std::string, std::vector<std::string>> out;
        for (auto& s : streams_) {
            auto& v = out[std::string(engine::info(s.endpoint).path) + " " + s.channel];
            for (auto& m : s.messages) v.push_back(m->bytes);
        }
        return out;
    }

  private:
    engine::Hub hub_{1000};
    std::vector<StreamLog> streams_;
    std::vector<engine::MessagePtr> all_;
    engine::ClockAnchor clock_;
    int clock_sets_ = 0;
};

// Polls `done` until it holds or the deadline passes.
inline bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::yield();
    }
    return true;
}

inline SimConfig fast(std::uint64_t seed, std::int64_t duration_ms) {
    SimConfig c;
    c.seed = seed;
    c.time_scale = 0;  // as fast as possible
    c.stop_after_ms = duration_ms;
    return c;
}

// Runs the source to the end of its configured duration; the recorder is complete afterwards.
inline void run_to_end_with(SimulatorSource& source, PublishLog& rec) {
    const auto& config = source.config();
    source.start(rec);
    const bool finished = wait_for([&] { return source.finished(); }, std::chrono::seconds(60));
    source.stop();  // joins the source thread
    ASSERT_TRUE(finished) << "the source did not finish " << config.stop_after_ms
                          << " simulated ms within 60 s";
    ASSERT_FALSE(rec.all().empty());
    EXPECT_EQ(source.sim_time_ms(), rec.all().back()->time_ms);
}

inline void run_to_end(const SimConfig& config, PublishLog& rec) {
    SimulatorSource source(config);
    run_to_end_with(source, rec);
}

}  // namespace streambed::simulator
