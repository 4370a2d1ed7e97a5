// checkpoint_test.cpp: a World's checkpoint (WorldCheckpoint) — a world restored from it
// publishes exactly what the original publishes next, from any point, episodes and failed rounds
// included; another world's checkpoint, another shape and garbage are refused by name and leave
// the world as it was.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "simulator/world.hpp"
#include "tests/simulator/publish_log.hpp"

namespace streambed::simulator {
namespace {

// Keeps what the world hands over, before any framing: the stream, type, time and data.
class UnframedLog final : public engine::Publisher {
  public:
    engine::StreamId declare_stream(engine::Endpoint, std::string_view) override {
        return next_id_++;
    }
    engine::MessagePtr publish(engine::StreamId stream, engine::MessageType type,
                               std::int64_t time_ms, std::string_view data) override {
        log.push_back(fmt::format("{} {} {} {}", stream, static_cast<int>(type), time_ms, data));
        return nullptr;
    }
    void set_clock(const engine::ClockAnchor&) override {}
    std::vector<std::string> log;

  private:
    engine::StreamId next_id_ = 0;
};

// Episodes, jailings and failed rounds every few ticks, so every field of the state moves.
SimConfig eventful_world(std::uint64_t seed = 42) {
    SimConfig c;
    c.seed = seed;
    c.episodes.validator_offline = 0.05;
    c.episodes.validator_jailed = 0.03;
    c.episodes.failed_round = 0.3;
    c.episodes.network_degradation = 0.08;
    c.episodes.network_partition = 0.05;
    return c;
}

TEST(WorldCheckpoint, ARestoredWorldPublishesWhatTheOriginalPublishesNext) {
    constexpr int kEvents = 20000, kEvery = 2500;
    UnframedLog original;
    World world(eventful_world(), original);
    std::vector<std::pair<std::size_t, std::string>> checkpoints;  // (messages so far, state)
    for (int e = 0; e < kEvents; ++e) {
        if (e % kEvery == 0) checkpoints.emplace_back(original.log.size(), world.checkpoint());
        world.advance();
    }
    ASSERT_GT(original.log.size(), 25000u);
    for (const auto& [at, state] : checkpoints) {
        UnframedLog restored;
        World again(eventful_world(), restored);
        again.restore(state);
        EXPECT_EQ(again.messages_published(), at);
        while (at + restored.log.size() < original.log.size()) again.advance();
        ASSERT_EQ(at + restored.log.size(), original.log.size());
        for (std::size_t i = 0; i < restored.log.size(); ++i)
            ASSERT_EQ(restored.log[i], original.log[at + i])
                << "message " << at + i << " of a world restored at message " << at;
    }
}

TEST(WorldCheckpoint, RestoringACheckpointGivesTheSameCheckpoint) {
    UnframedLog p;
    World world(eventful_world(), p);
    for (int e = 0; e < 3000; ++e) world.advance();
    const auto state = world.checkpoint();
    UnframedLog q;
    World again(eventful_world(), q);
    again.restore(state);
    EXPECT_EQ(again.checkpoint(), state);
    EXPECT_EQ(again.next_event_ms(), world.next_event_ms());
}

TEST(WorldCheckpoint, AnotherWorldsCheckpointIsRefusedAndChangesNothing) {
    UnframedLog p, q;
    World other(eventful_world(43), p);
    for (int e = 0; e < 100; ++e) other.advance();
    World world(eventful_world(42), q);
    const auto before = world.checkpoint();
    try {
        world.restore(other.checkpoint());
        FAIL() << "restored another world's checkpoint";
    } catch (const CheckpointError& e) {
        EXPECT_NE(std::string(e.what()).find("is of world sim-"), std::string::npos) << e.what();
    }
    EXPECT_EQ(world.checkpoint(), before);
}

TEST(WorldCheckpoint, GarbageAndOtherShapesAreRefusedByName) {
    UnframedLog p;
    World world(eventful_world(), p);
    for (int e = 0; e < 100; ++e) world.advance();
    const auto good = nlohmann::json::parse(world.checkpoint());
    const auto before = world.checkpoint();
    auto refused = [&](const std::string& text) -> std::string {
        try {
            world.restore(text);
        } catch (const CheckpointError& e) {
            EXPECT_EQ(world.checkpoint(), before) << "a refused checkpoint changed the world";
            return e.what();
        }
        return "<restored>";
    };
    EXPECT_NE(refused("").find("not a world checkpoint"), std::string::npos);
    EXPECT_NE(refused("[1,2]").find("not a world checkpoint"), std::string::npos);
    auto v2 = good;
    v2["checkpoint"] = 2;
    EXPECT_NE(refused(v2.dump()).find("version 1"), std::string::npos);
    auto fewer = good;
    fewer["channels"].erase(0);
    EXPECT_NE(refused(fewer.dump()).find("has 7 channels and 7 validators"), std::string::npos)
        << refused(fewer.dump());
    auto missing = good;
    missing.erase("peers");
    EXPECT_NE(refused(missing.dump()).find("peers"), std::string::npos) << refused(missing.dump());
    auto wrong = good;
    wrong["rng"][2] = "not hex";
    EXPECT_NE(refused(wrong.dump()).find("'not hex' is not a hex word"), std::string::npos);
    auto typed = good;
    typed["channels"][1]["last_hash"] = 7;
    EXPECT_NE(refused(typed.dump()).find("checkpoint: "), std::string::npos);
    auto status = good;
    status["validators"][0]["status"] = 9;
    EXPECT_NE(refused(status.dump()).find("validator status 9 is out of range"), std::string::npos);
    // Values the model could not have made, which advancing would trip over (a signed overflow
    // of a time, a countdown from below zero).
    const std::vector<std::pair<nlohmann::json::json_pointer, nlohmann::json>> out_of_model{
        {"/next_block_ms"_json_pointer, std::numeric_limits<std::int64_t>::max() - 1},
        {"/next_state_ms"_json_pointer, 0},
        {"/channels/2/next_tx_ms"_json_pointer, -5},
        {"/validators/1/away_ticks"_json_pointer, std::numeric_limits<int>::min()},
        {"/episode_ticks"_json_pointer, 13},
        {"/peers"_json_pointer, 0},
        {"/phase"_json_pointer, 4}};
    for (const auto& [where, value] : out_of_model) {
        auto bad = good;
        bad[where] = value;
        EXPECT_NE(refused(bad.dump()).find("is out of range"), std::string::npos)
            << where.to_string() << " = " << value;
    }
}

// A message as the world made it, without the seq a hub gave it: (stream, time, data onwards).
std::vector<std::string> unnumbered(const PublishLog& log, std::size_t from) {
    std::vector<std::string> out;
    for (std::size_t i = from; i < log.all().size(); ++i) {
        const auto& m = *log.all()[i];
        out.push_back(fmt::format("{} {} {}", m.stream, m.time_ms,
                                  m.bytes.substr(m.bytes.find(R"(,"data":)"))));
    }
    return out;
}

TEST(SourceCheckpoints, TakenOnTheMarkAndASourceContinuedFromOneEndsTheSame) {
    auto config = fast(7, 10 * 60'000);  // ten simulated minutes, as fast as possible
    std::vector<std::string> saved;
    PublishLog whole;
    {
        SimulatorSource source(config);
        source.set_checkpoints(
            {"", 60'000, [&](std::int64_t, std::string c) { saved.push_back(std::move(c)); }});
        run_to_end_with(source, whole);
    }
    ASSERT_EQ(saved.size(), 10u) << "one a simulated minute, the last at the end";
    const auto third = nlohmann::json::parse(saved[2]);
    const auto at = third["published"].get<std::size_t>();
    ASSERT_GT(at, 0u);
    EXPECT_LE(whole.all()[at - 1]->time_ms, config.epoch_ms + 3 * 60'000);
    EXPECT_GE(whole.all()[at]->time_ms, config.epoch_ms + 3 * 60'000);

    PublishLog rest;
    SimulatorSource continued(config);
    continued.set_checkpoints({saved[2], 0, {}});
    run_to_end_with(continued, rest);
    EXPECT_EQ(unnumbered(rest, 0), unnumbered(whole, at));
}

TEST(SourceCheckpoints, ACheckpointThatDoesNotFitStopsTheStart) {
    SimulatorSource source(fast(7, 60'000));
    source.set_checkpoints({"{}", 0, {}});
    PublishLog log;
    EXPECT_THROW(source.start(log), CheckpointError);
}

}  // namespace
}  // namespace streambed::simulator
