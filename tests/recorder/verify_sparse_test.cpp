// verify_sparse_test.cpp: verify's rule for a channel only one side holds (VerifySparse). A
// sparse channel may have no message inside the recorded subscription window and one in the
// re-driven one (or the reverse): fine when its messages span at most the tolerance and the
// session asked for the channel; a channel it never asked for, or a longer stretch, differs.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
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

// One session on /ws/channels subscribed to ch-1, ch-2, ch-4 and ch-5 (blocks, time scale 1,
// publish_n's messages two simulated seconds apart, the tolerance 500 ms):
//  - ch-2: seqs 1 and 2 published before the subscription (not delivered);
//  - ch-1: three blocks; ch-4: one block; ch-5: two blocks (2 s apart), all delivered;
//  - ch-3: one block, never subscribed.
struct SparseRecording {
    TempDb db{"sparse"};
    std::unique_ptr<recorder::RecordedRun> run;
    recorder::Observed as_recorded;

    SparseRecording() {
        {
            recorder::Recorder rec(db.path, {"test", 1, "{}", 1.0});
            TestServer srv;
            srv.server().set_tap(&rec);
            const auto ep = engine::Endpoint::channels;
            auto ch1 = srv.declare(ep, "ch-1"), ch2 = srv.declare(ep, "ch-2"),
                 ch3 = srv.declare(ep, "ch-3"), ch4 = srv.declare(ep, "ch-4"),
                 ch5 = srv.declare(ep, "ch-5");
            srv.publish_n(ch2, engine::MessageType::block, 1);
            srv.publish_n(ch2, engine::MessageType::block, 2);
            WsClient c(srv.port(), "/ws/channels");
            c.read_json();
            c.send(R"({"action":"subscribe","channels":["ch-1","ch-2","ch-4","ch-5"]})");
            c.read_until_type("subscribed");
            for (std::uint64_t n = 1; n <= 3; ++n)
                srv.publish_n(ch1, engine::MessageType::block, n);
            srv.publish_n(ch3, engine::MessageType::block, 1);
            srv.publish_n(ch4, engine::MessageType::block, 1);
            srv.publish_n(ch5, engine::MessageType::block, 1);
            srv.publish_n(ch5, engine::MessageType::block, 2);
            for (int i = 0; i < 6; ++i) c.read_json();
            c.close();
            srv.server().shutdown();
            rec.finish();
        }
        run = std::make_unique<recorder::RecordedRun>(db.path, std::nullopt);
        as_recorded = observed_as_recorded(db.path);
    }
    recorder::SessionVerdict compare(const recorder::Observed& o) const {
        return run->compare(run->sessions().at(0), o, recorder::RecordedRun::kDefaultToleranceUs);
    }
    // The run's message (channel, seq), byte for byte as the server framed it.
    std::string message(const std::string& channel, int seq) const {
        return sql_text(db.path,
                        "SELECT m.payload FROM message m JOIN stream st ON st.run = m.run "
                        "AND st.id = m.stream WHERE st.channel = '" +
                            channel + "' AND m.seq = " + std::to_string(seq));
    }
    // as_recorded with `texts` received right after the subscribed reply.
    recorder::Observed with(const std::vector<std::string>& texts) const {
        auto o = as_recorded;
        auto at = std::find_if(o.frames.begin(), o.frames.end(), [](const auto& f) {
            return json::parse(f.text).value("type", "") == "subscribed";
        });
        const auto wall = at->wall_us;
        for (const auto& text : texts) at = o.frames.insert(at + 1, {wall, text});
        return o;
    }
    // as_recorded without the messages of `channel`.
    recorder::Observed without(const std::string& channel) const {
        auto o = as_recorded;
        std::erase_if(o.frames, [&](const auto& f) {
            return json::parse(f.text).value("channel", "") == channel;
        });
        return o;
    }
};

const SparseRecording& sparse() {
    static SparseRecording r;
    return r;
}

TEST(VerifySparse, AsRecordedIsTheSame) {
    const auto& r = sparse();
    ASSERT_EQ(r.as_recorded.frames.size(), 8u);  // welcome, subscribed, six blocks
    const auto v = r.compare(r.as_recorded);
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
}

TEST(VerifySparse, OneMessageOfASubscribedChannelTheRecordingLacksIsTheSame) {
    const auto& r = sparse();
    ASSERT_NE(r.message("ch-2", 2), "<none>");
    const auto v = r.compare(r.with({r.message("ch-2", 2)}));
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
}

TEST(VerifySparse, MessagesSpanningMoreThanTheToleranceAreADifference) {
    const auto& r = sparse();
    const auto v = r.compare(r.with({r.message("ch-2", 1), r.message("ch-2", 2)}));
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->expected, "no message of channel ch-2");
}

TEST(VerifySparse, AMessageOfAChannelNeverSubscribedIsADifference) {
    const auto& r = sparse();
    ASSERT_NE(r.message("ch-3", 1), "<none>");
    const auto v = r.compare(r.with({r.message("ch-3", 1)}));
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->expected, "no message of channel ch-3");
}

TEST(VerifySparse, ARecordedLoneMessageTheReDriveLacksIsTheSame) {
    const auto& r = sparse();
    const auto v = r.compare(r.without("ch-4"));
    EXPECT_FALSE(v.difference) << v.difference->expected << " / " << v.difference->got;
}

TEST(VerifySparse, ARecordedStretchLongerThanTheToleranceTheReDriveLacksIsADifference) {
    const auto& r = sparse();
    const auto v = r.compare(r.without("ch-5"));
    ASSERT_TRUE(v.difference);
    EXPECT_EQ(v.difference->got, "no message of channel ch-5");
}

}  // namespace
}  // namespace streambed::testing
