// durability_test.cpp: a recording server as a real child process — SIGTERM flushes and closes
// the run; SIGKILL leaves a valid SQLite file holding every frame older than the commit interval.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "bench/server_process.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

TEST(RecordingDurability, SigtermFlushesEverythingAndClosesTheRun) {
    TempDb db("durability");
    std::vector<std::uint64_t> seen;
    {
        bench::ServerProcess server(STREAMBED_BINARY, {"--time-scale", "50", "--record", db.path});
        WsClient c(server.port(), "/ws/metrics");
        EXPECT_EQ(c.read_json()["type"], "welcome");
        while (seen.size() < 10) {
            auto j = c.read_json();
            seen.push_back(j["seq"]);
        }
        std::thread reader([&] {
            while (c.read()) {
            }
        });  // answers the 1001 close
        EXPECT_EQ(server.stop(), 0);
        reader.join();
    }
    EXPECT_EQ(sql_text(db.path, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(sql_text(db.path, "SELECT complete FROM run"), "1");
    EXPECT_NE(sql_text(db.path, "SELECT ended_us FROM run"), "NULL");
    EXPECT_EQ(sql_text(db.path, "SELECT close_code FROM session"), "1001");
    for (auto seq : seen)
        EXPECT_EQ(sql_text(db.path,
                           "SELECT count(*) FROM frame f JOIN stream s ON s.id = f.stream "
                           "WHERE s.endpoint = '/ws/metrics' AND f.seq = " +
                               std::to_string(seq)),
                  "1")
            << seq;
}

TEST(RecordingDurability, SigkillLeavesAValidFileWithEveryCommittedFrame) {
    TempDb db("durability");
    std::uint64_t early = 0;
    {
        bench::ServerProcess server(STREAMBED_BINARY, {"--time-scale", "50", "--record", db.path});
        WsClient c(server.port(), "/ws/metrics");
        c.read_json();
        for (int i = 0; i < 5; ++i) early = c.read_json()["seq"];
        // At --time-scale 50 a metrics message comes every 40 ms: ten more is 400 ms later,
        // well past the 50 ms commit interval of the frame carrying `early`.
        for (int i = 0; i < 10; ++i) c.read_json();
        ::kill(server.pid(), SIGKILL);
        server.stop();  // reaps the killed child
    }
    EXPECT_EQ(sql_text(db.path, "PRAGMA integrity_check"), "ok");
    EXPECT_EQ(sql_text(db.path, "SELECT ended_us FROM run"), "NULL");  // the run never closed
    EXPECT_EQ(sql_text(db.path,
                       "SELECT count(*) FROM message m JOIN stream s ON s.id = m.stream "
                       "WHERE s.endpoint = '/ws/metrics' AND m.seq = " +
                           std::to_string(early)),
              "1");
    EXPECT_EQ(sql_text(db.path,
                       "SELECT count(*) FROM frame WHERE seq = " + std::to_string(early) +
                           " AND stream = (SELECT id FROM stream WHERE endpoint = '/ws/metrics')"),
              "1");
}

}  // namespace
}  // namespace streambed::testing
