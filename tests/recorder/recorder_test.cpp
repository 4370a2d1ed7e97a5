// recorder_test.cpp: recording with real SQLite files — round trip of every frame, payloads
// stored once, close codes, the full-queue and full-disk policies, runs appended, gathered
// deliveries. Which files are accepted: file_checks_test.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "tests/recorder/recording_checks.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;
using engine::MessageType;
using recorder::Recorder;
using recorder::RecordingError;

TEST(Recording, EveryFrameInAndOutRoundTripsExactly) {
    TempDb file("roundtrip");
    std::vector<std::string> a_seen, b_seen;
    std::vector<std::string> a_sent = {R"({"action":"subscribe","channels":["ch-1"]})",
                                       R"({"action":"ping","id":3})"};
    {
        Recorder rec(file.path, {"test", 42, R"({"seed":42})"});
        TestServer srv;
        srv.server().set_tap(&rec);
        auto ch1 = srv.declare(Endpoint::channels, "ch-1");
        auto m = srv.declare(Endpoint::metrics, "metrics");
        WsClient a(srv.port(), "/ws/channels"), b(srv.port(), "/ws/metrics?batch=1");
        a_seen.push_back(a.read_text());
        b_seen.push_back(b.read_text());
        for (auto& text : a_sent) a.send(text);
        a_seen.push_back(a.read_text());  // subscribed
        a_seen.push_back(a.read_text());  // pong
        for (std::uint64_t n = 1; n <= 5; ++n) {
            srv.publish_n(ch1, MessageType::block, n);
            srv.publish_n(m, MessageType::metrics, n);
        }
        for (int i = 0; i < 5; ++i) a_seen.push_back(a.read_text());
        std::size_t b_messages = 0;
        while (b_messages < 5) {
            b_seen.push_back(b.read_text());
            auto j = json::parse(b_seen.back());
            b_messages += j.is_array() ? j.size() : 1;
        }
        a.close();
        b.close();
        srv.server().shutdown();
        rec.finish();
        EXPECT_EQ(rec.dropped(), 0u);
    }
    auto lines = exported(file.path);
    std::map<std::string, std::vector<json>> by_endpoint;
    for (auto& l : lines) by_endpoint[l["endpoint"]].push_back(l);

    // Session a: out frames are exactly what the client read, in order; in frames what it sent.
    std::vector<std::string> out_a, in_a;
    for (auto& l : by_endpoint["/ws/channels"])
        (l["dir"] == "out" ? out_a : in_a).push_back(l["payload"]);
    EXPECT_EQ(out_a, a_seen);
    EXPECT_EQ(in_a, a_sent);
    // Session b (batched): the parts of each frame rebuild the frame text.
    std::map<std::int64_t, std::vector<std::string>> frames;
    for (auto& l : by_endpoint["/ws/metrics"]) frames[l["frame"]].push_back(l["payload"]);
    std::vector<std::string> rebuilt;
    for (auto& [n, parts] : frames) {
        if (parts.size() == 1)
            rebuilt.push_back(parts[0]);
        else {
            std::string joined = "[";
            for (std::size_t i = 0; i < parts.size(); ++i) joined += (i ? "," : "") + parts[i];
            rebuilt.push_back(joined + "]");
        }
    }
    EXPECT_EQ(rebuilt, b_seen);

    EXPECT_EQ(scalar(file.path, "SELECT complete FROM run"), 1);
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM session WHERE close_code = 1000"), 2);

    // HAR: one websocket entry per session; its messages are the frames as the client saw them.
    std::stringstream har_text;
    EXPECT_EQ(recorder::export_har(file.path, std::nullopt, har_text), 2u);
    auto har = json::parse(har_text.str());
    ASSERT_EQ(har["log"]["entries"].size(), 2u);
    for (auto& entry : har["log"]["entries"]) {
        EXPECT_EQ(entry["_resourceType"], "websocket");
        std::vector<std::string> received, sent;
        for (auto& m : entry["_webSocketMessages"])
            (m["type"] == "receive" ? received : sent).push_back(m["data"]);
        if (entry["request"]["url"] == "ws://localhost/ws/channels") {
            EXPECT_EQ(received, a_seen);
            EXPECT_EQ(sent, a_sent);
        } else {
            EXPECT_EQ(received, b_seen);
        }
    }
    EXPECT_EQ(scalar(file.path, "PRAGMA user_version"), recorder::kSchemaVersion);
    auto summary = recorder::inspect(file.path);
    EXPECT_EQ(summary["runs"].size(), 1u);
    EXPECT_EQ(summary["runs"][0]["seed"], 42);
    EXPECT_EQ(summary["runs"][0]["sessions"]["total"], 2);
}

TEST(Recording, APayloadDeliveredToManySessionsIsStoredOnce) {
    TempDb file("once");
    constexpr int kClients = 20;
    {
        Recorder rec(file.path, {"test", 1, "{}"});
        TestServer srv;
        srv.server().set_tap(&rec);
        auto m = srv.declare(Endpoint::metrics, "metrics");
        std::vector<WsClient> clients;
        for (int i = 0; i < kClients; ++i) {
            clients.emplace_back(srv.port(), "/ws/metrics");
            clients.back().read_json();
        }
        for (std::uint64_t n = 1; n <= 10; ++n)
            srv.publish(m, MessageType::metrics, static_cast<std::int64_t>(n),
                        R"({"pad":")" + std::string(2000, 'x') + R"("})");
        for (auto& c : clients) {
            for (int i = 0; i < 10; ++i) c.read_json();
            c.close();
        }
        srv.server().shutdown();
        rec.finish();
    }
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM message"), 10);
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM frame WHERE seq IS NOT NULL"), 10 * kClients);
    EXPECT_EQ(
        scalar(file.path, "SELECT count(*) FROM frame WHERE seq IS NOT NULL AND text IS NOT NULL"),
        0);
    // ~2 KB payloads to 20 sessions: far less than 20 copies.
    EXPECT_LT(scalar(file.path, "SELECT sum(length(payload)) FROM message"), 10 * 2100);
}

TEST(Recording, ServerSideClosesAreRecordedWithTheirCode) {
    TempDb file("close");
    {
        Recorder rec(file.path, {"test", 1, "{}"});
        TestServer srv;
        srv.server().set_tap(&rec);
        WsClient c(srv.port(), "/ws/network");
        c.read_json();
        c.send_binary("\x01");
        EXPECT_FALSE(c.read());
        srv.server().shutdown();
        rec.finish();
    }
    EXPECT_EQ(scalar(file.path, "SELECT close_code FROM session"), 1003);
}

TEST(Recording, AFullQueueSlowsTheSourceButCountsDroppedFrames) {
    TempDb file("full");
    recorder::RecorderOptions tiny;
    tiny.queue_limit = 8;
    std::uint64_t dropped = 0;
    {
        Recorder rec(file.path, {"test", 1, "{}"}, tiny);
        engine::Hub hub(100);
        hub.set_tap(&rec);
        auto id = hub.declare_stream(Endpoint::metrics, "metrics");
        rec.session_opened({1, "s", Endpoint::metrics, "peer", "/ws/metrics", 1});
        std::thread io([&] {  // an I/O thread: never waits
            for (int i = 0; i < 20000; ++i) rec.frame_in(1, R"({"action":"ping"})", i);
        });
        for (int n = 0; n < 2000; ++n)
            hub.publish(id, MessageType::metrics, n, "{}");  // the source: may wait
        io.join();
        rec.finish();
        dropped = rec.dropped();
        EXPECT_EQ(rec.written() + rec.dropped(), 1u + 1u + 2000u + 20000u);
    }
    EXPECT_GT(dropped, 0u);
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM message"), 2000);  // the source lost nothing
    EXPECT_EQ(scalar(file.path, "SELECT complete FROM run"), 0);
    EXPECT_EQ(scalar(file.path, "SELECT dropped_frames FROM run"),
              static_cast<std::int64_t>(dropped));
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM frame") + static_cast<std::int64_t>(dropped),
              20000);
}

TEST(Recording, AFullDiskIsReportedTheServerCarriesOnAndTheRunIsIncomplete) {
    TempDb file("fulldisk");
    recorder::RecorderOptions capped;
    capped.max_pages = 40;  // ~160 KiB: filled by the first few hundred 2 KiB messages
    {
        Recorder rec(file.path, {"test", 1, "{}"}, capped);
        TestServer srv;
        srv.server().set_tap(&rec);
        auto m = srv.declare(Endpoint::metrics, "metrics");
        WsClient c(srv.port(), "/ws/metrics");
        c.read_json();
        const std::string pad = R"({"pad":")" + std::string(2000, 'x') + R"("})";
        std::uint64_t n = 0;
        for (; n < 5; ++n) srv.publish(m, MessageType::metrics, static_cast<std::int64_t>(n), pad);
        for (int i = 0; i < 5; ++i) c.read_json();
        ASSERT_TRUE(
            wait_until([&] { return rec.written() >= 5; }));  // committed before the disk fills
        while (n < 5000 && !rec.failed()) {
            for (int i = 0; i < 50; ++i, ++n)
                srv.publish(m, MessageType::metrics, static_cast<std::int64_t>(n), pad);
            for (int i = 0; i < 50; ++i) c.read_json();  // the client keeps receiving throughout
        }
        EXPECT_TRUE(rec.failed());
        auto after = srv.publish(m, MessageType::metrics, 1, pad);
        EXPECT_EQ(c.read_text(), after->bytes);  // the server carries on
        c.close();
        srv.server().shutdown();
        rec.finish();
        EXPECT_GT(rec.dropped(), 0u);
    }
    // What was committed before the disk filled is intact, and the run says what happened.
    EXPECT_EQ(
        scalar(file.path, "SELECT count(*) FROM run WHERE complete = 0 AND error LIKE '%full%'"),
        1);
    EXPECT_GT(scalar(file.path, "SELECT count(*) FROM message"), 0);
    std::stringstream out;
    EXPECT_NO_THROW(recorder::export_jsonl(file.path, std::nullopt, out));
}

TEST(Recording, RunsAppendToAnExistingRecording) {
    TempDb file("append");
    { Recorder(file.path, {"test", 1, "{}"}).finish(); }
    { Recorder(file.path, {"test", 2, "{}"}).finish(); }
    EXPECT_EQ(scalar(file.path, "SELECT count(*) FROM run"), 2);
    EXPECT_EQ(scalar(file.path, "SELECT seed FROM run WHERE id = 2"), 2);
}

TEST(Recording, AGatheredRunOfDeliveriesIsOneRowAndReadsBackOneRowPerDelivery) {
    TempDb file("runs");
    constexpr std::uint64_t kCount = 2000;
    std::vector<std::string> received;
    {
        Recorder rec(file.path, {"test", 1, "{}"});
        auto o = test_options();
        o.outbound_limit_bytes = 64 << 20;
        o.socket_send_buffer = 32 << 10;  // a backlog builds, and writes gather many frames
        TestServer srv(o);
        srv.server().set_tap(&rec);
        auto tx = srv.declare(Endpoint::transactions, "ch-1");
        WsClient c(srv.port(), "/ws/transactions");
        c.read_json();
        c.send(R"({"action":"subscribe","channels":["ch-1"]})");
        c.read_until_type("subscribed");
        for (std::uint64_t n = 1; n <= kCount; ++n)
            srv.publish(tx, MessageType::transaction, static_cast<std::int64_t>(n),
                        R"({"pad":")" + std::string(1000, 'x') + R"("})");
        for (std::uint64_t n = 1; n <= kCount; ++n) received.push_back(c.read_text());
        c.close();
        srv.server().shutdown();
        rec.finish();
    }
    const auto deliveries = "SELECT count(*) FROM frame WHERE seq IS NOT NULL";
    EXPECT_EQ(scalar(file.path, deliveries), static_cast<std::int64_t>(kCount));
    const auto rows = scalar(file.path, "SELECT count(*) FROM frame_row WHERE seq IS NOT NULL");
    EXPECT_LT(rows * 4, static_cast<std::int64_t>(kCount))
        << rows << " rows for " << kCount << " deliveries";
    // Read back through the view: one frame per delivery, numbered in order, the same bytes.
    std::vector<std::string> recorded;
    std::int64_t last_n = -1;
    for (const auto& line : exported(file.path)) {
        if (line["dir"] != "out" || line["seq"].is_null()) continue;
        EXPECT_GT(line["frame"].get<std::int64_t>(), last_n);
        last_n = line["frame"];
        EXPECT_EQ(line["part"], 0);
        recorded.push_back(line["payload"]);
    }
    EXPECT_EQ(recorded, received);
}

// A version-1 file as streambed 0.1 wrote it: one `frame` row per delivery.

}  // namespace
}  // namespace streambed::testing
