// replay_test.cpp: record a simulated run into a real file, replay it through a fresh server,
// and a client sees byte-identical data messages with the same seqs; bad runs are refused.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "recorder/recorder.hpp"
#include "recorder/replay_source.hpp"
#include "simulator/simulator_source.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using Key = std::pair<std::string, std::uint64_t>;  // (channel, seq) on one endpoint

struct Recording {
    TempDb file{"replay"};
    const std::string& path = file.path;
    Recording() {
        simulator::SimConfig sim;
        sim.seed = 11;
        sim.time_scale = 0;  // as fast as possible
        sim.stop_after_ms = 30'000;
        recorder::Recorder rec(path, {"test", sim.seed, simulator::to_json(sim), 0});
        engine::Server server(test_options());
        server.set_tap(&rec);
        server.start();
        simulator::SimulatorSource source(sim);
        source.start(server.publisher());
        EXPECT_TRUE(wait_until([&] { return source.finished(); }, std::chrono::seconds(30)));
        source.stop();
        server.shutdown();
        rec.finish();
    }
    std::map<Key, std::string> messages(const std::string& endpoint) const {
        std::map<Key, std::string> out;
        sqlite3* db = nullptr;
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
        sqlite3_stmt* st = nullptr;
        sqlite3_prepare_v2(
            db,
            "SELECT s.channel, m.seq, m.payload FROM message m JOIN stream s ON s.run = m.run "
            "AND s.id = m.stream WHERE s.endpoint = ?",
            -1, &st, nullptr);
        sqlite3_bind_text(st, 1, endpoint.c_str(), -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW)
            out[{reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                 static_cast<std::uint64_t>(sqlite3_column_int64(st, 1))}] =
                std::string(static_cast<const char*>(sqlite3_column_blob(st, 2)),
                            static_cast<std::size_t>(sqlite3_column_bytes(st, 2)));
        sqlite3_finalize(st);
        sqlite3_close(db);
        return out;
    }
};

const Recording& recording() {
    static Recording r;
    return r;
}

TEST(Replay, ClientsSeeByteIdenticalMessages) {
    const auto& rec = recording();
    auto recorded = rec.messages("/ws/transactions");
    ASSERT_GT(recorded.size(), 100u);

    auto o = test_options();
    o.history = 100000;
    engine::Server server(o);
    server.start();
    recorder::ReplaySource replay({rec.path, std::nullopt, /*speed=*/0, false});
    replay.start(server.publisher());
    ASSERT_TRUE(wait_until([&] { return replay.finished(); }, std::chrono::seconds(30)));
    EXPECT_EQ(replay.published(), replay.messages());

    // Everything, from history: the same (channel, seq) carries the same bytes.
    WsClient c(server.port(), "/ws/transactions");
    c.read_json();
    c.send(
        R"({"action":"subscribe","channels":["*"],"since":{"ch-1":0,"ch-2":0,"ch-3":0,"ch-4":0,"ch-5":0,"ch-6":0,"ch-7":0,"ch-8":0}})");
    EXPECT_EQ(c.read_json()["type"], "subscribed");
    std::size_t compared = 0;
    while (compared < recorded.size()) {
        const auto text = c.read_text();
        auto j = json::parse(text);
        const Key key{j["channel"], j["seq"]};
        ASSERT_TRUE(recorded.count(key)) << text;
        ASSERT_EQ(text, recorded.at(key));
        ++compared;
    }
    c.close();
    replay.stop();
    server.shutdown();
}

TEST(Replay, PacedReplayDeliversLiveInRecordedOrder) {
    const auto& rec = recording();
    auto recorded = rec.messages("/ws/metrics");
    engine::Server server(test_options());
    server.start();
    // Recorded unpaced: every publish instant is within milliseconds, so speed 1 is quick too.
    recorder::ReplaySource replay({rec.path, std::nullopt, 1.0, false});
    replay.start(server.publisher());
    WsClient c(server.port(), "/ws/metrics");
    c.read_json();
    std::uint64_t last = 0;
    while (last < recorded.size()) {
        const auto text = c.read_text();
        auto j = json::parse(text);
        ASSERT_GT(j["seq"].get<std::uint64_t>(), last);  // snapshot first, then live, in order
        last = j["seq"];
        ASSERT_EQ(text, recorded.at({"metrics", last}));
    }
    c.close();
    replay.stop();
    server.shutdown();
}

TEST(Replay, LoopStartsOverWithSeqsAndTimeContinuing) {
    const auto& rec = recording();
    const auto recorded = rec.messages("/ws/metrics");
    engine::Server server(test_options());
    server.start();
    recorder::ReplaySource replay({rec.path, std::nullopt, 0, /*loop=*/true});
    replay.start(server.publisher());
    ASSERT_TRUE(wait_until([&] { return replay.published() > 2 * replay.messages(); },
                           std::chrono::seconds(30)));
    replay.stop();
    // The second pass continued the stream: seq n + count carries pass 1's data at a later time.
    const auto count = recorded.size();
    auto poll =
        http_get(server.port(), "/api/v11/poll/metrics?since=metrics:" + std::to_string(count))
            .body_json();
    ASSERT_FALSE(poll["messages"].empty());
    auto first_of_pass2 = poll["messages"][0];
    EXPECT_EQ(first_of_pass2["seq"], count + 1);
    auto original = json::parse(recorded.at({"metrics", 1}));
    EXPECT_EQ(first_of_pass2["data"], original["data"]);
    EXPECT_GT(first_of_pass2["time"].get<std::int64_t>(),
              json::parse(recorded.at({"metrics", count}))["time"].get<std::int64_t>());
    server.shutdown();
}

TEST(Replay, ARunWithoutDataMessagesIsRefused) {
    TempDb db("replay-empty");
    const std::string& path = db.path;
    { recorder::Recorder(path, {"test", 1, "{}", 1}).finish(); }
    try {
        recorder::ReplaySource source({path, std::nullopt, 1.0, false});
        ADD_FAILURE() << "an empty run was accepted";
    } catch (const recorder::RecordingError& e) {
        EXPECT_NE(std::string(e.what()).find("no data message"), std::string::npos) << e.what();
    }
}

// The epoch names the recording's run: the same at any speed, loop or not, under another file
// name; another run of the same world is another epoch; and it is what the welcome carries.
TEST(Replay, EpochNamesTheRecordedRun) {
    const auto& rec = recording();
    recorder::ReplaySource fast({rec.path, std::nullopt, 0, false}),
        looped({rec.path, 1, 2.5, true});
    EXPECT_TRUE(fast.epoch().starts_with("replay-")) << fast.epoch();
    EXPECT_EQ(fast.epoch(), looped.epoch());
    EXPECT_NE(fast.epoch(), simulator::world_epoch(simulator::SimConfig{}));

    TempDb copied("replay-copy");
    copied.copy_of(rec.path);
    const std::string& copy = copied.path;
    EXPECT_EQ(recorder::ReplaySource({copy, std::nullopt, 1.0, false}).epoch(), fast.epoch());
    {  // a second run of the same world into the copy
        recorder::Recorder second(copy, {"test", 11, "{}", 0});
        engine::Server server(test_options());
        server.set_tap(&second);
        server.start();
        const auto id = server.publisher().declare_stream(engine::Endpoint::metrics, "metrics");
        server.publisher().publish(id, engine::MessageType::metrics, 1, R"({"n":1})");
        server.shutdown();
        second.finish();
    }
    EXPECT_NE(recorder::ReplaySource({copy, std::nullopt, 1.0, false}).epoch(), fast.epoch());

    engine::Server server(test_options());
    server.start();
    fast.start(server.publisher());
    WsClient c(server.port(), "/ws/metrics");
    EXPECT_EQ(c.read_json()["epoch"], fast.epoch());
    c.close();
    fast.stop();
    server.shutdown();
}

TEST(Replay, UnknownRunOrMissingFileIsRefused) {
    const auto& rec = recording();
    EXPECT_THROW(recorder::ReplaySource({rec.path, 99, 1.0, false}), recorder::RecordingError);
    EXPECT_THROW(recorder::ReplaySource({rec.path + ".missing", std::nullopt, 1.0, false}),
                 recorder::RecordingError);
}

}  // namespace
}  // namespace streambed::testing
