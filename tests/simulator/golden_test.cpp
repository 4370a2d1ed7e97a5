// golden_test.cpp: the golden fixture — a digest of the first messages of every stream of seed 42
// with the default configuration, compared with fixtures/simulator/seed42.json. Any change to what
// the simulator generates (model, draws, formatting, envelope) shows up here as the streams that
// differ. After an intended change, regenerate the fixture and commit it with the change:
//   STREAMBED_UPDATE_FIXTURES=1 ./build/tests/simulator_tests --gtest_filter='GoldenFixture.*'
#include <gtest/gtest.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "engine/hub.hpp"
#include "simulator/config.hpp"
#include "simulator/world.hpp"

namespace streambed::simulator {
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::uint64_t kSeed = 42;
constexpr std::size_t kMessagesPerStream = 200;
// A stream that publishes fewer messages than kMessagesPerStream in this much simulated time is
// digested over what it published (the fixture's "messages" says how many).
constexpr std::int64_t kMaxSimulatedMs = 30 * 60 * 1000;

const std::filesystem::path kFixture =
    std::filesystem::path(STREAMBED_FIXTURES) / "simulator" / "seed42.json";

// A Publisher that frames through a real Hub and keeps the bytes of each stream's first messages.
class FirstMessages final : public engine::Publisher {
  public:
    engine::StreamId declare_stream(engine::Endpoint endpoint, std::string_view channel) override {
        const engine::StreamId id = hub_.declare_stream(endpoint, channel);
        if (id >= keys_.size()) keys_.resize(id + 1);
        keys_[id] = std::string(engine::info(endpoint).path) + " " + std::string(channel);
        streams_[keys_[id]];
        return id;
    }
    engine::MessagePtr publish(engine::StreamId stream, engine::MessageType type,
                               std::int64_t time_ms, std::string_view data_json) override {
        engine::MessagePtr m = hub_.publish(stream, type, time_ms, data_json);
        auto& kept = streams_.at(keys_.at(stream));
        if (kept.size() < kMessagesPerStream) kept.push_back(m->bytes);
        return m;
    }
    void set_clock(const engine::ClockAnchor& clock) override { hub_.set_clock(clock); }

    bool complete() const {
        for (const auto& [key, bytes] : streams_)
            if (bytes.size() < kMessagesPerStream) return false;
        return true;
    }
    // "/ws/channels ch-1" -> the framed bytes of its first messages, in seq order.
    const std::map<std::string, std::vector<std::string>>& streams() const { return streams_; }

  private:
    engine::Hub hub_{16};  // history is not needed here: the capture keeps what it digests
    std::vector<std::string> keys_;
    std::map<std::string, std::vector<std::string>> streams_;
};

// XXH3-128 over each message followed by '\n' (a frame never contains a raw newline), as 32 hex
// digits in XXH3's canonical (big-endian) byte order.
std::string digest(const std::vector<std::string>& messages) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    for (const auto& m : messages) {
        XXH3_128bits_update(state, m.data(), m.size());
        XXH3_128bits_update(state, "\n", 1);
    }
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
    XXH3_freeState(state);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char byte : canonical.digest) {
        out += hex[byte >> 4];
        out += hex[byte & 15];
    }
    return out;
}

// Runs the World as fast as possible (no source thread, no clock) until every stream has its
// messages or the simulated time limit is reached; returns the fixture's content.
ojson generate() {
    SimConfig config;
    config.seed = kSeed;
    FirstMessages capture;
    World world(config, capture);
    while (!capture.complete() && world.next_event_ms() <= config.epoch_ms + kMaxSimulatedMs)
        world.advance();

    ojson out;
    out["note"] =
        "Golden digests of the simulator: seed 42, the default configuration (below). For each "
        "stream, "
        "the first 200 data messages (or, if it has fewer within the first 30 simulated minutes, "
        "all "
        "of them: 'messages' says how many), each framed as on the wire and followed by a newline, "
        "hashed with XXH3-128 (hex, canonical byte order). Checked by "
        "tests/simulator/golden_test.cpp; "
        "after an intended change to what the simulator generates, regenerate with "
        "STREAMBED_UPDATE_FIXTURES=1 build/tests/simulator_tests --gtest_filter='GoldenFixture.*' "
        "and commit this file with the change.";
    out["config"] = ojson::parse(to_json(config));
    for (const auto& [key, bytes] : capture.streams()) {
        out[key] = {{"messages", bytes.size()}, {"digest", digest(bytes)}};
        if (bytes.size() < kMessagesPerStream)
            out[key]["note"] = "fewer than 200 messages within the first 30 simulated minutes";
    }
    return out;
}

bool is_stream_key(const std::string& key) {
    return key.starts_with("/ws/");
}

TEST(GoldenFixture, Seed42MatchesTheFixture) {
    const ojson got = generate();

    const char* update = std::getenv("STREAMBED_UPDATE_FIXTURES");
    if (update && std::string(update) == "1") {
        std::filesystem::create_directories(kFixture.parent_path());
        std::ofstream out(kFixture);
        out << got.dump(2) << '\n';
        ASSERT_TRUE(out.flush()) << "cannot write " << kFixture.string();
        GTEST_SKIP() << "STREAMBED_UPDATE_FIXTURES=1: rewrote " << kFixture.string()
                     << " instead of comparing";
    }

    std::ifstream in(kFixture);
    ASSERT_TRUE(in) << "no fixture at " << kFixture.string()
                    << "; generate it with STREAMBED_UPDATE_FIXTURES=1 (see this file's header)";
    std::stringstream text;
    text << in.rdbuf();
    const ojson want = ojson::parse(text.str(), nullptr, false);
    ASSERT_FALSE(want.is_discarded()) << kFixture.string() << " is not valid JSON";
    ASSERT_TRUE(want.is_object()) << kFixture.string() << " is not a JSON object";

    EXPECT_EQ(got["config"], want.value("config", ojson()))
        << "the default configuration differs from the "
           "fixture's: the digests below cannot match";
    std::vector<std::string> differing;
    std::string details;
    for (const auto& [key, value] : got.items()) {
        if (!is_stream_key(key)) continue;
        if (!want.contains(key)) {
            differing.push_back(key);
            details += "  " + key + ": not in the fixture (a new stream)\n";
        } else if (want[key] != value) {
            differing.push_back(key);
            details +=
                "  " + key + ": fixture " + want[key].dump() + ", now " + value.dump() + "\n";
        }
    }
    for (const auto& [key, value] : want.items()) {
        if (is_stream_key(key) && !got.contains(key)) {
            differing.push_back(key);
            details += "  " + key + ": in the fixture, no longer generated\n";
        }
    }
    std::string names;
    for (const auto& key : differing) names += (names.empty() ? "" : ", ") + key;
    EXPECT_TRUE(differing.empty())
        << differing.size() << " stream(s) differ from " << kFixture.string() << ": " << names
        << "\n"
        << details << "If the change is intended, regenerate the fixture (see this file's header).";
}

// The fixture covers every declared stream with its full count: no stream is short with the
// default configuration, so a short one would mean the world stopped producing it.
TEST(GoldenFixture, EveryStreamReachesItsCount) {
    const ojson got = generate();
    std::size_t streams = 0;
    for (const auto& [key, value] : got.items()) {
        if (!is_stream_key(key)) continue;
        ++streams;
        EXPECT_EQ(value["messages"], kMessagesPerStream) << key;
    }
    EXPECT_EQ(streams, 26u);  // 8 channels x 2 endpoints, 7 validators, consensus, network, metrics
}

}  // namespace
}  // namespace streambed::simulator
