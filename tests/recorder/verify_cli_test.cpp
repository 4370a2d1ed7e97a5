// verify_cli_test.cpp: `streambed verify`, the real program end to end (Verify): `serve
// --record` with scripted clients, then `verify` as a child process passes; a recording changed
// afterwards (a data message's bytes, a control reply) fails with the session and the frame
// named; missing, garbage, unpaced and unknown runs are refused (exit 2).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "bench/server_process.hpp"
#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "recorder/verify.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;

// Replaces a message's payload (bound as a blob, byte for byte).
void set_payload(const std::string& path, const std::string& stream, const std::string& seq,
                 const std::string& bytes) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(
                  db,
                  ("UPDATE message SET payload = ? WHERE stream = " + stream + " AND seq = " + seq)
                      .c_str(),
                  -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_blob(st, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

// ---- the real program -----------------------------------------------------------------------

struct Ran {
    int status = -1;  // exit status; 128 + signal when killed
    std::string out, err;
};

// Runs `streambed ARGS...` to completion (killed at the deadline), capturing both outputs.
Ran run_streambed(const std::vector<std::string>& args, std::chrono::milliseconds deadline = 60s) {
    ChildProcess child(STREAMBED_BINARY, args);
    Ran ran;
    auto status = child.wait_exit(deadline);
    const bool killed = !status;
    if (killed) {
        child.send_signal(SIGKILL);
        status = child.wait_exit(5s);
    }
    const int st = status.value_or(0);
    ran.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    ran.out = child.out();
    ran.err = child.err();
    if (killed) ran.err += "\n<killed at the deadline>";
    return ran;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream s(text);
    std::string line;
    while (std::getline(s, line)) out.push_back(line);
    return out;
}

bool is_data(const json& j) {
    return j.is_object() && j.contains("seq") && j.contains("data");
}

// A run of `streambed serve --record` at time scale 20 with three scripted clients:
//  - /ws/channels: subscribes to ch-1 and an unknown channel (error), pings, reads data;
//  - /ws/metrics?batch=1: subscribed on open, reads data in batch frames;
//  - /ws/transactions: subscribes to "*", reads, unsubscribes, pings.
struct ServedRecording {
    TempDb db{"served"};
    std::map<std::string, std::string> session_of;  // endpoint -> session name

    ServedRecording() {
        bench::ServerProcess server(STREAMBED_BINARY,
                                    {"--seed", "7", "--time-scale", "20", "--record", db.path});
        WsClient channels(server.port(), "/ws/channels");
        WsClient metrics(server.port(), "/ws/metrics?batch=1");
        WsClient transactions(server.port(), "/ws/transactions");
        session_of["/ws/channels"] = channels.read_json()["session"];
        session_of["/ws/metrics"] = metrics.read_json()["session"];
        session_of["/ws/transactions"] = transactions.read_json()["session"];

        channels.send(R"({"action":"subscribe","channels":["ch-1","nope"]})");
        EXPECT_EQ(channels.read_json()["code"], "unknown_channel");
        channels.read_until_type("subscribed");
        channels.send(R"({"action":"ping","id":7})");
        channels.read_until_type("pong");
        for (int data = 0; data < 6;) data += is_data(channels.read_json());

        transactions.send(R"({"action":"subscribe","channels":["*"]})");
        transactions.read_until_type("subscribed");
        for (int data = 0; data < 30;) data += is_data(transactions.read_json());
        transactions.send(R"({"action":"unsubscribe","channels":["*"]})");
        transactions.read_until_type("unsubscribed");
        transactions.send(R"({"action":"ping","id":"last"})");
        transactions.read_until_type("pong");

        for (std::size_t data = 0; data < 6;) {
            auto j = metrics.read_json();
            data += j.is_array() ? j.size() : is_data(j);
        }
        channels.close();
        metrics.close();
        transactions.close();
        EXPECT_EQ(server.stop(), 0);
    }
};

const ServedRecording& served() {
    static ServedRecording r;
    return r;
}

TEST(Verify, ARecordedRunVerifies) {
    const auto& rec = served();
    EXPECT_EQ(sql_text(rec.db.path, "SELECT count(*) FROM session"), "3");
    EXPECT_EQ(sql_text(rec.db.path, "SELECT complete FROM run"), "1");
    const auto ran = run_streambed({"verify", rec.db.path});
    EXPECT_EQ(ran.status, 0) << ran.out << ran.err;
    const auto lines = lines_of(ran.out);
    for (const auto& [endpoint, name] : rec.session_of) {
        const auto prefix = "session " + name + " (" + endpoint + "): ok (";
        EXPECT_TRUE(std::any_of(lines.begin(), lines.end(),
                                [&](const std::string& l) { return l.starts_with(prefix); }))
            << prefix << " not in:\n"
            << ran.out;
    }
    EXPECT_NE(ran.out.find("all 3 session(s) the same"), std::string::npos) << ran.out;
    EXPECT_EQ(ran.err, "");
}

TEST(Verify, AChangedDataMessageFailsNamingTheSessionAndFrame) {
    const auto& rec = served();
    TempDb tampered("tampered-data");
    tampered.copy_of(rec.db.path);
    // The middle data message delivered to the metrics session: inside any timing edge.
    const std::string where =
        "FROM frame f JOIN session s ON s.run = f.run AND s.id = f.session "
        "WHERE s.endpoint = '/ws/metrics' AND f.stream IS NOT NULL";
    const auto count = std::stoi(sql_text(tampered.path, "SELECT count(*) " + where));
    ASSERT_GE(count, 6);
    const auto pick = " ORDER BY f.n, f.part LIMIT 1 OFFSET " + std::to_string(count / 2);
    const auto frame = sql_text(tampered.path, "SELECT f.n " + where + pick);
    const auto stream = sql_text(tampered.path, "SELECT f.stream " + where + pick);
    const auto seq = sql_text(tampered.path, "SELECT f.seq " + where + pick);
    auto payload = sql_text(tampered.path, "SELECT payload FROM message WHERE stream = " + stream +
                                               " AND seq = " + seq);
    const auto digit = payload.find_last_of("0123456789");
    ASSERT_NE(digit, std::string::npos) << payload;
    payload[digit] = payload[digit] == '9' ? '0' : static_cast<char>(payload[digit] + 1);
    set_payload(tampered.path, stream, seq, payload);

    const auto ran = run_streambed({"verify", tampered.path});
    EXPECT_EQ(ran.status, 1) << ran.out << ran.err;
    const auto expected_line = "session " + rec.session_of.at("/ws/metrics") +
                               " (/ws/metrics): differs at frame " + frame + ": expected ";
    EXPECT_NE(ran.out.find(expected_line), std::string::npos) << expected_line << " not in:\n"
                                                              << ran.out;
    EXPECT_NE(ran.out.find("expected " + payload.substr(0, 60)), std::string::npos) << ran.out;
    for (const char* other : {"/ws/channels", "/ws/transactions"})
        EXPECT_NE(ran.out.find("session " + rec.session_of.at(other) + " (" + other + "): ok ("),
                  std::string::npos)
            << ran.out;
    EXPECT_NE(ran.out.find("1 of 3 session(s) differ"), std::string::npos) << ran.out;
}

TEST(Verify, AChangedControlReplyFailsNamingTheSessionAndFrame) {
    const auto& rec = served();
    TempDb tampered("tampered-control");
    tampered.copy_of(rec.db.path);
    // Frame texts are blobs: compared as text.
    const std::string pong = R"(dir = 'out' AND CAST(text AS TEXT) = '{"type":"pong","id":7}')";
    const auto frame = sql_text(tampered.path, "SELECT n FROM frame WHERE " + pong);
    ASSERT_NE(frame, "<none>");
    sql_text(
        tampered.path,
        R"(UPDATE frame_row SET text = CAST('{"type":"pong","id":70}' AS BLOB) WHERE )" + pong);
    ASSERT_EQ(sql_text(tampered.path, "SELECT changes()"),
              "0");  // a new connection: no changes of its own
    ASSERT_EQ(
        sql_text(
            tampered.path,
            R"(SELECT count(*) FROM frame WHERE CAST(text AS TEXT) = '{"type":"pong","id":70}')"),
        "1");

    const auto ran = run_streambed({"verify", tampered.path});
    EXPECT_EQ(ran.status, 1) << ran.out << ran.err;
    const auto expected_line = "session " + rec.session_of.at("/ws/channels") +
                               " (/ws/channels): differs at frame " + frame +
                               R"(: expected {"type":"pong","id":70} got {"type":"pong","id":7})";
    EXPECT_NE(ran.out.find(expected_line), std::string::npos) << expected_line << " not in:\n"
                                                              << ran.out;
    EXPECT_NE(ran.out.find("1 of 3 session(s) differ"), std::string::npos) << ran.out;
}

TEST(Verify, AServerThatGeneratesOtherDataFails) {
    const auto& rec = served();
    TempDb other("other-seed");
    other.copy_of(rec.db.path);
    sql_text(other.path,
             "UPDATE run SET seed = 8");  // the fresh server now simulates another world
    const auto ran = run_streambed({"verify", other.path});
    EXPECT_EQ(ran.status, 1) << ran.out << ran.err;
    for (const auto& [endpoint, name] : rec.session_of)
        EXPECT_NE(ran.out.find("session " + name + " (" + endpoint + "): differs at frame "),
                  std::string::npos)
            << ran.out;
    EXPECT_NE(ran.out.find("3 of 3 session(s) differ"), std::string::npos) << ran.out;
}

// The CLI contract for bad input: exit 2, one line on stderr naming the problem, no verdict.
void expect_refused(const Ran& ran, const std::vector<std::string>& named) {
    EXPECT_EQ(ran.status, 2) << ran.out << ran.err;
    EXPECT_EQ(std::count(ran.err.begin(), ran.err.end(), '\n'), 1) << ran.err;
    for (const auto& word : named)
        EXPECT_NE(ran.err.find(word), std::string::npos) << word << " not in: " << ran.err;
    EXPECT_EQ(ran.out.find("session "), std::string::npos) << ran.out;
}

TEST(Verify, MissingGarbageUnpacedAndUnknownRunsAreRefused) {
    TempDb missing("missing");
    expect_refused(run_streambed({"verify", missing.path}), {missing.path, "no such recording"});
    EXPECT_FALSE(std::filesystem::exists(missing.path)) << "a reader never creates a file";

    TempDb garbage("garbage");
    std::ofstream(garbage.path) << "this is not a database, just text that goes on for a while\n";
    expect_refused(run_streambed({"verify", garbage.path}),
                   {garbage.path, "not a streambed recording"});

    TempDb unpaced("unpaced");
    recorder::Recorder(unpaced.path, {"test", 1, "{}", 0}).finish();
    expect_refused(run_streambed({"verify", unpaced.path}), {unpaced.path, "unpaced"});

    expect_refused(run_streambed({"verify", served().db.path, "--run", "99"}),
                   {served().db.path, "no run 99"});
    expect_refused(run_streambed({"verify", served().db.path, "--tolerance", "soon"}),
                   {"--tolerance", "soon"});
}

}  // namespace
}  // namespace streambed::testing
