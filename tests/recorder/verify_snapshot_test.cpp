// verify_snapshot_test.cpp: `verify` and the snapshot rule. A subscription gets the latest
// state, then live messages; events published before it landed are not owed. So whether a
// re-driven subscription lands before or after an event that follows the snapshot is timing, as
// a stretch's edges are: the snapshot and what follows it are one stretch when only events lie
// between. A state skipped there, or an event skipped later, is still a difference.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "recorder/verify.hpp"
#include "tests/recorder/recording_checks.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::MessageType;

// One /ws/channels session: ch-1 holds a state (seq 1) when it subscribes; then block 2,
// channel_update 3, blocks 4 and 5, channel_update 6 are published and read.
struct SnapshotRecording {
    // Removed before and after: a file left by an earlier process of the same pid would add its
    // run to this one's (the flake this fixed).
    TempDb db{"verify-snapshot"};
    const std::string& path = db.path;
    std::unique_ptr<recorder::RecordedRun> run;
    recorder::Observed as_recorded;

    SnapshotRecording() {
        {
            recorder::Recorder rec(path, {"test", 1, "{}", 1.0});
            TestServer srv;
            srv.server().set_tap(&rec);
            auto ch1 = srv.declare(engine::Endpoint::channels, "ch-1");
            srv.publish_n(ch1, MessageType::channel_update, 1);
            WsClient c(srv.port(), "/ws/channels");
            c.read_json();
            c.send(R"({"action":"subscribe","channels":["ch-1"]})");
            c.read_until_type("subscribed");
            EXPECT_EQ(c.read_json()["seq"], 1) << "the snapshot";
            std::uint64_t n = 2;
            for (auto t : {MessageType::block, MessageType::channel_update, MessageType::block,
                           MessageType::block, MessageType::channel_update})
                srv.publish_n(ch1, t, n++);
            for (std::uint64_t seq = 2; seq <= 6; ++seq) EXPECT_EQ(c.read_json()["seq"], seq);
            c.close();
            srv.server().shutdown();
            rec.finish();
        }
        run = std::make_unique<recorder::RecordedRun>(path, std::nullopt);
        as_recorded = observed_as_recorded(path);
    }

    // The recorded frames without the data messages of these seqs.
    recorder::Observed without(std::initializer_list<std::uint64_t> seqs) const {
        recorder::Observed o;
        for (const auto& f : as_recorded.frames) {
            const auto j = nlohmann::json::parse(f.text);
            const bool drop =
                j.contains("seq") &&
                std::find(seqs.begin(), seqs.end(), j["seq"].get<std::uint64_t>()) != seqs.end();
            if (!drop) o.frames.push_back(f);
        }
        return o;
    }
    recorder::SessionVerdict compare(const recorder::Observed& o) const {
        return run->compare(run->sessions().at(0), o, recorder::RecordedRun::kDefaultToleranceUs);
    }
};

SnapshotRecording& snapshot_recording() {
    static SnapshotRecording r;
    return r;
}

TEST(VerifySnapshot, AsRecordedIsTheSame) {
    const auto v = snapshot_recording().compare(snapshot_recording().as_recorded);
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
}

TEST(VerifySnapshot, ASubscriptionLandingAfterTheEventThatFollowsTheSnapshotIsTheSame) {
    const auto v = snapshot_recording().compare(snapshot_recording().without({2}));
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
}

TEST(VerifySnapshot, AStateSkippedAfterTheSnapshotIsADifference) {
    const auto v = snapshot_recording().compare(snapshot_recording().without({2, 3}));
    ASSERT_TRUE(v.difference);
    EXPECT_NE(v.difference->expected.find(R"("seq":)"), std::string::npos)
        << v.difference->expected;
}

TEST(VerifySnapshot, AnEventSkippedLaterIsADifference) {
    const auto v = snapshot_recording().compare(snapshot_recording().without({4}));
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(nlohmann::json::parse(v.difference->expected)["seq"], 4);
}

}  // namespace
}  // namespace streambed::testing
