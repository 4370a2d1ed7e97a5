// verify_test.cpp: `streambed verify`'s comparison rules on a recording made in-process
// (VerifyCompare): what is tolerated, what is reported and where. The real program end to end is
// in verify_cli_test.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "recorder/verify.hpp"
#include "tests/recorder/recording_checks.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;

// ---- the comparison, on a recording made in-process ------------------------------------------

// One session on /ws/channels: subscribe (an unknown channel too), ping, ten blocks of ch-1
// two simulated seconds apart, close. Observed as recorded, then changed by each test.
struct Recorded {
    TempDb db{"compare"};
    std::unique_ptr<recorder::RecordedRun> run;
    recorder::Observed as_recorded;  // the outbound frames exactly as recorded, at their instants

    Recorded() {
        {
            recorder::Recorder rec(db.path, {"test", 1, "{}", 1.0});
            TestServer srv;
            srv.server().set_tap(&rec);
            auto ch1 = srv.declare(engine::Endpoint::channels, "ch-1");
            WsClient c(srv.port(), "/ws/channels");
            c.read_json();
            c.send(R"({"action":"subscribe","channels":["ch-1","nope"]})");
            c.read_until_type("subscribed");
            c.send(R"({"action":"ping","id":7})");
            c.read_until_type("pong");
            for (std::uint64_t n = 1; n <= 10; ++n)
                srv.publish_n(ch1, engine::MessageType::block, n);
            for (int i = 0; i < 10; ++i) c.read_json();
            c.close();
            srv.server().shutdown();
            rec.finish();
        }
        run = std::make_unique<recorder::RecordedRun>(db.path, std::nullopt);
        as_recorded = observed_as_recorded(db.path);
    }
    const recorder::RecordedSession& session() const { return run->sessions().at(0); }
    recorder::SessionVerdict compare(const recorder::Observed& o) {
        return run->compare(session(), o, recorder::RecordedRun::kDefaultToleranceUs);
    }
    // The index in as_recorded of the data message with this seq.
    std::size_t index_of_seq(std::uint64_t seq) const {
        for (std::size_t i = 0; i < as_recorded.frames.size(); ++i) {
            auto j = json::parse(as_recorded.frames[i].text);
            if (j.contains("seq") && j["seq"] == seq) return i;
        }
        throw std::runtime_error("no such seq");
    }
    // The recorded frame number of the frame at this index (outbound frames interleave inbound).
    std::int64_t frame_number(std::size_t index) const {
        std::stringstream lines;
        recorder::export_jsonl(db.path, std::nullopt, lines);
        std::string line;
        std::size_t out = 0;
        while (std::getline(lines, line)) {
            auto j = json::parse(line);
            if (j["dir"] == "out" && out++ == index) return j["frame"];
        }
        throw std::runtime_error("no such frame");
    }
};

Recorded& recorded() {
    static Recorded r;
    return r;
}

TEST(VerifyCompare, TheSameFramesAreTheSame) {
    auto& r = recorded();
    ASSERT_EQ(r.run->sessions().size(), 1u);
    EXPECT_EQ(r.session().endpoint, "/ws/channels");
    ASSERT_EQ(r.session().sent.size(), 2u);
    ASSERT_EQ(r.as_recorded.frames.size(), 14u);  // welcome, error, subscribed, pong, 10 blocks
    auto v = r.compare(r.as_recorded);
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
    EXPECT_EQ(v.compared, 14u);
}

TEST(VerifyCompare, WelcomeSessionAndClockMayDiffer) {
    auto& r = recorded();
    auto o = r.as_recorded;
    auto w = json::parse(o.frames[0].text);
    ASSERT_EQ(w["type"], "welcome");
    w["session"] = "other-0-1";
    w["clock"]["wall"] = 1;
    w["clock"]["time"] = 2;
    o.frames[0].text = w.dump();
    EXPECT_FALSE(r.compare(o).difference);
    w["heartbeatMs"] = 1000;  // but nothing else
    o.frames[0].text = w.dump();
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->frame, 0);
}

TEST(VerifyCompare, BatchFramesAreComparedMessageByMessage) {
    auto& r = recorded();
    auto o = r.as_recorded;
    const auto first = r.index_of_seq(1);
    std::string joined = "[";
    for (std::size_t i = first; i < o.frames.size(); ++i)
        joined += (i > first ? "," : "") + o.frames[i].text;
    joined += "]";
    const auto at = o.frames[first].wall_us;
    o.frames.resize(first);
    o.frames.push_back({at, joined});
    auto v = r.compare(o);
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
    EXPECT_EQ(v.compared, 14u);
}

TEST(VerifyCompare, ASubscriptionEdgeMayMoveByOneMessageNotMore) {
    auto& r = recorded();
    auto o = r.as_recorded;
    o.frames.erase(o.frames.begin() + static_cast<std::ptrdiff_t>(r.index_of_seq(1)));
    EXPECT_FALSE(r.compare(o).difference)
        << "seq 2 first: the subscription landed one message later";
    o.frames.pop_back();
    EXPECT_FALSE(r.compare(o).difference) << "seq 9 last: the session ended one message earlier";

    // Three messages later: 4 simulated seconds at time scale 1, beyond the 500 ms tolerance.
    o = r.as_recorded;
    const auto one = r.index_of_seq(1);
    o.frames.erase(o.frames.begin() + static_cast<std::ptrdiff_t>(one),
                   o.frames.begin() + static_cast<std::ptrdiff_t>(one + 3));
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->frame, r.frame_number(one));
    EXPECT_EQ(json::parse(v.difference->expected)["seq"], 1);
    EXPECT_EQ(json::parse(v.difference->got)["seq"], 4);
}

TEST(VerifyCompare, AGapInsideTheRangeIsADifferenceAtTheMissingMessage) {
    auto& r = recorded();
    auto o = r.as_recorded;
    const auto five = r.index_of_seq(5);
    o.frames.erase(o.frames.begin() + static_cast<std::ptrdiff_t>(five));
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->frame, r.frame_number(five));
    EXPECT_EQ(v.difference->expected, r.as_recorded.frames[five].text);
    EXPECT_EQ(json::parse(v.difference->got)["seq"], 6);
}

TEST(VerifyCompare, ARepeatIsADifference) {
    auto& r = recorded();
    auto o = r.as_recorded;
    const auto five = r.index_of_seq(5);
    o.frames.insert(o.frames.begin() + static_cast<std::ptrdiff_t>(five + 1), o.frames[five]);
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(json::parse(v.difference->got)["seq"], 5);
}

TEST(VerifyCompare, DataBytesMustBeIdentical) {
    auto& r = recorded();
    auto o = r.as_recorded;
    const auto seven = r.index_of_seq(7);
    auto& text = o.frames[seven].text;
    const auto original = text;
    text.replace(text.find(R"("n":7)"), 5, R"("n":8)");
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->frame, r.frame_number(seven));
    EXPECT_EQ(v.difference->expected, original);
    EXPECT_EQ(v.difference->got, text);
}

TEST(VerifyCompare, ControlRepliesMustMatchInOrder) {
    auto& r = recorded();
    auto o = r.as_recorded;
    std::size_t pong = 0;
    while (json::parse(o.frames[pong].text)["type"] != "pong") ++pong;
    o.frames[pong].text = R"({"type":"pong","id":8})";
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->frame, r.frame_number(pong));
    EXPECT_EQ(v.difference->expected, R"({"type":"pong","id":7})");
    EXPECT_EQ(v.difference->got, R"({"type":"pong","id":8})");

    o = r.as_recorded;
    std::swap(o.frames[1], o.frames[2]);  // subscribed before the error
    EXPECT_TRUE(r.compare(o).difference);

    o = r.as_recorded;
    o.frames.erase(o.frames.begin() + static_cast<std::ptrdiff_t>(pong));
    v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->got, "nothing");
}

TEST(VerifyCompare, OnlyWhatArrivesAfterTheRecordedEndIsForgiven) {
    auto& r = recorded();
    auto o = r.as_recorded;
    const auto end = r.session().end_us;
    o.frames.push_back({end + 1000, R"({"type":"pong","id":9})"});
    EXPECT_FALSE(r.compare(o).difference)
        << "a late extra reply: the recording could not have seen it";
    o.frames.back().wall_us = end - 1;
    EXPECT_TRUE(r.compare(o).difference) << "an extra reply within the session";
}

TEST(VerifyCompare, ADataStreamTheRecordingLacksIsADifference) {
    auto& r = recorded();
    auto o = r.as_recorded;
    o.frames.push_back(
        {r.session().end_us - 1,
         R"({"type":"block","channel":"ch-2","seq":1,"time":1762732802000,"data":{"n":1}})"});
    auto v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_NE(v.difference->expected.find("ch-2"), std::string::npos) << v.difference->expected;
}

TEST(VerifyCompare, ConnectionFailuresAndUnexpectedClosesAreDifferences) {
    auto& r = recorded();
    recorder::Observed refused;
    refused.error = "the upgrade was refused: HTTP 503";
    auto v = r.compare(refused);
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->got, refused.error);

    auto o = r.as_recorded;
    o.server_close_code = 1008;
    o.server_close_reason = "too many errors";
    o.server_closed_us = r.session().end_us - 10;
    v = r.compare(o);
    ASSERT_TRUE(v.difference);
    EXPECT_NE(v.difference->got.find("1008"), std::string::npos) << v.difference->got;
}

}  // namespace
}  // namespace streambed::testing
