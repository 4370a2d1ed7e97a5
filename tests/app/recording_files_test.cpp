// recording_files_test.cpp: the real program against recording files a hostile tester would
// hand it (issue 11): `serve --record` into a damaged file is refused and leaves it untouched;
// readers open read-only, create no side files and read a recording in a directory they cannot
// write; an unknown `export --run` and a damaged file are refused naming the file. The readers'
// successful paths (inspect, export --format har, replay) give what was recorded, and verify
// sees a recorded abuse close (1008) come again.
// One recording is made per suite (`serve --record --clock-start`: ten simulated minutes
// caught up at start), copied into each test's own directory; everything is removed after.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace fs = std::filesystem;

namespace {

using namespace std::chrono_literals;

class Child : public ChildProcess {
  public:
    explicit Child(const std::vector<std::string>& args) : ChildProcess(STREAMBED_BINARY, args) {}
};

bool exited_with(const std::optional<int>& status, int code) {
    return status && WIFEXITED(*status) && WEXITSTATUS(*status) == code;
}

std::string bytes_of(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::uint16_t listening_port(Child& c) {
    auto line = c.next_line(20s);
    if (!line || line->rfind("listening on http://", 0) != 0)
        throw std::runtime_error("no listening line; stderr: " + c.err());
    return static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
}

// A directory of the test's own, removed (made writable first) at the end.
struct TempDir {
    fs::path path;
    explicit TempDir(const std::string& name)
        : path(fs::path(::testing::TempDir()) / (name + "-" + std::to_string(::getpid()))) {
        clean();
        fs::create_directories(path);
    }
    ~TempDir() { clean(); }
    void clean() const {
        std::error_code ec;
        if (fs::exists(path, ec))
            fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
        fs::remove_all(path, ec);
    }
    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (auto& e : fs::directory_iterator(path)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }
};

struct RecordingFiles : ::testing::Test {
    static inline TempDir* source = nullptr;
    static inline fs::path recording;

    // r.db as the issue makes it: a recording of the simulator with a client subscribed.
    static void SetUpTestSuite() {
        source = new TempDir("recording-files-source");
        recording = source->path / "r.db";
        using namespace std::chrono;
        const auto now_ms =
            duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
        Child serve({"serve", "--port", "0", "--record", recording.string(), "--clock-start",
                     std::to_string(now_ms - 20 * 60 * 1000)});
        const auto port = listening_port(serve);
        {
            WsClient c(port, "/ws/channels");
            c.read_text();  // welcome
            c.send(R"({"action":"subscribe","channels":["*"]})");
            c.read_until_type("subscribed");
            c.close();
        }
        serve.send_signal(SIGTERM);
        if (!exited_with(serve.wait_exit(20s), 0))
            throw std::runtime_error("serve did not exit 0: " + serve.err());
    }
    static void TearDownTestSuite() {
        delete source;
        source = nullptr;
    }
};

TEST_F(RecordingFiles, RecordingIntoADamagedFileIsRefusedByNameAndLeavesItUntouched) {
    TempDir dir("damaged-record");
    // The issue's damage: bytes 1,500,000 .. 1,600,000 zeroed.
    std::string bytes = bytes_of(recording);
    ASSERT_GT(bytes.size(), 1'600'000u) << "the recording is too small to damage as the issue does";
    std::fill(bytes.begin() + 1'500'000, bytes.begin() + 1'600'000, '\0');
    const auto z = dir.path / "z.db";
    std::ofstream(z, std::ios::binary) << bytes;

    Child serve({"serve", "--port", "0", "--record", z.string()});
    const auto status = serve.wait_exit(20s);
    EXPECT_TRUE(exited_with(status, 2)) << "serve started on a damaged recording: " << serve.out();
    const std::string err = serve.err();
    EXPECT_NE(err.find(z.string()), std::string::npos) << err;
    EXPECT_NE(err.find("damaged"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_TRUE(bytes_of(z) == bytes) << "the damaged file was written to";
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"z.db"});

    // A sound recording is still appended to.
    fs::copy_file(recording, dir.path / "ok.db");
    Child again({"serve", "--port", "0", "--record", (dir.path / "ok.db").string()});
    listening_port(again);
    again.send_signal(SIGTERM);
    EXPECT_TRUE(exited_with(again.wait_exit(20s), 0)) << again.err();
}

TEST_F(RecordingFiles, DamageFoundWhileReadingNamesTheFile) {
    TempDir dir("damaged-read");
    std::string bytes = bytes_of(recording);
    std::fill(bytes.begin() + 1'500'000, bytes.begin() + 1'600'000, '\0');
    const auto z = dir.path / "z.db";
    std::ofstream(z, std::ios::binary) << bytes;
    Child c({"inspect", z.string()});
    EXPECT_TRUE(exited_with(c.wait_exit(20s), 2));
    const std::string err = c.err();
    EXPECT_NE(err.find("damaged"), std::string::npos) << err;
    EXPECT_NE(err.find(z.string()), std::string::npos) << err;
}

TEST_F(RecordingFiles, ExportOfAnUnknownRunExitsTwoLikeReplay) {
    for (const auto& format : {"jsonl", "har"}) {
        Child c({"export", recording.string(), "--run", "99", "--format", format});
        EXPECT_TRUE(exited_with(c.wait_exit(20s), 2)) << format << ": " << c.out().substr(0, 200);
        EXPECT_NE(c.err().find("no run 99"), std::string::npos) << c.err();
        EXPECT_NE(c.err().find(recording.string()), std::string::npos) << c.err();
    }
}

// A directory the readers cannot write (0555, the file 0444): what a read-only filesystem is to
// them. Run as root (who may write anyway), nothing may appear beside the file; run as an
// unprivileged user (setpriv), the recording must be read, not called corrupt.
TEST_F(RecordingFiles, ReadersReadARecordingTheyCannotWriteAndCreateNoSideFiles) {
    TempDir dir("read-only");
    const auto r = dir.path / "r.db";
    fs::copy_file(recording, r);
    const std::string before = bytes_of(r);
    ::chmod(r.c_str(), 0444);
    ::chmod(dir.path.c_str(), 0555);
    const std::vector<std::vector<std::string>> readers = {
        {"inspect", r.string()},
        {"inspect", r.string(), "--json"},
        {"export", r.string()},
        {"export", r.string(), "--format", "har"}};
    for (const auto& args : readers) {
        Child c(args);
        EXPECT_TRUE(exited_with(c.wait_exit(30s), 0)) << args[0] << ": " << c.err();
        EXPECT_EQ(dir.entries(), std::vector<std::string>{"r.db"}) << args[0] << " left side files";
    }
    // replay and verify open the file, then look for the run: "no run", not "corrupt".
    for (const auto& command : {"replay", "verify"}) {
        Child c({command, r.string(), "--run", "99"});
        EXPECT_TRUE(exited_with(c.wait_exit(30s), 2)) << command;
        EXPECT_NE(c.err().find("no run 99"), std::string::npos) << command << ": " << c.err();
        EXPECT_EQ(dir.entries(), std::vector<std::string>{"r.db"}) << command << " left side files";
    }
    {
        Child replay({"replay", r.string(), "--port", "0", "--speed", "max"});
        listening_port(replay);
        replay.send_signal(SIGTERM);
        EXPECT_TRUE(exited_with(replay.wait_exit(20s), 0)) << replay.err();
        EXPECT_EQ(dir.entries(), std::vector<std::string>{"r.db"}) << "replay left side files";
    }
    // Without root's privilege the directory really is read-only.
    if (::access("/usr/bin/setpriv", X_OK) == 0 && ::geteuid() == 0) {
        ChildProcess nobody("/usr/bin/setpriv", {"--reuid=65534", "--regid=65534", "--clear-groups",
                                                 STREAMBED_BINARY, "inspect", r.string()});
        const auto status = nobody.wait_exit(30s);
        EXPECT_TRUE(exited_with(status, 0)) << nobody.err();
        EXPECT_NE(nobody.out().find("run 1"), std::string::npos) << nobody.out();
    }
    EXPECT_TRUE(bytes_of(r) == before) << "a reader changed the file";
}

// Data messages `export` (JSON Lines) shows the recorded client receiving: channel:seq -> bytes.
std::map<std::string, std::string> recorded_data(const fs::path& recording) {
    Child c({"export", recording.string()});
    if (!exited_with(c.wait_exit(30s), 0)) throw std::runtime_error("export failed: " + c.err());
    std::map<std::string, std::string> out;
    std::istringstream lines(c.out());
    for (std::string line; std::getline(lines, line);) {
        const auto j = json::parse(line);
        if (j["dir"] == "out" && j["seq"].is_number())
            out[j["channel"].get<std::string>() + ":" +
                std::to_string(j["seq"].get<std::uint64_t>())] = j["payload"];
    }
    return out;
}

TEST_F(RecordingFiles, InspectExportHarAndReplayGiveWhatWasRecorded) {
    Child text({"inspect", recording.string()});
    ASSERT_TRUE(exited_with(text.wait_exit(30s), 0)) << text.err();
    EXPECT_NE(text.out().find("run 1: complete"), std::string::npos) << text.out();
    EXPECT_NE(text.out().find("sessions 1 (1 closed)"), std::string::npos) << text.out();

    Child summary({"inspect", recording.string(), "--json"});
    ASSERT_TRUE(exited_with(summary.wait_exit(30s), 0)) << summary.err();
    const auto j = json::parse(summary.out());
    ASSERT_EQ(j["runs"].size(), 1u) << summary.out();
    EXPECT_EQ(j["runs"][0]["complete"], true);
    EXPECT_EQ(j["runs"][0]["seed"], 42);
    EXPECT_FALSE(j["runs"][0]["streams"].empty());

    Child har({"export", recording.string(), "--format", "har"});
    ASSERT_TRUE(exited_with(har.wait_exit(30s), 0)) << har.err();
    const auto log = json::parse(har.out())["log"];
    EXPECT_EQ(log["version"], "1.2");
    ASSERT_EQ(log["entries"].size(), 1u) << "one entry per session";
    const auto& entry = log["entries"][0];
    EXPECT_EQ(entry["request"]["url"], "ws://localhost/ws/channels");
    EXPECT_EQ(entry["response"]["status"], 101);
    const auto& messages = entry["_webSocketMessages"];
    ASSERT_GE(messages.size(), 3u);
    EXPECT_EQ(messages[0]["type"], "receive");
    EXPECT_EQ(json::parse(messages[0]["data"].get<std::string>())["type"], "welcome");
    EXPECT_EQ(messages[1]["type"], "send");
    EXPECT_EQ(messages[1]["data"], R"({"action":"subscribe","channels":["*"]})");

    // replay serves the recorded messages again, byte for byte: a client resuming from seq 0
    // reads every seq the recorded client received, with the same bytes.
    const auto recorded = recorded_data(recording);
    std::uint64_t newest = 0;
    for (const auto& [key, bytes] : recorded)
        if (key.starts_with("ch-1:"))
            newest = std::max<std::uint64_t>(newest, std::stoull(key.substr(5)));
    ASSERT_GT(newest, 0u) << "the recorded client received nothing on ch-1";
    Child replay({"replay", recording.string(), "--port", "0", "--speed", "max"});
    const auto port = listening_port(replay);
    {
        WsClient c(port, "/ws/channels");
        c.read_text();
        c.send(R"({"action":"subscribe","channels":["ch-1"],"since":{"ch-1":0}})");
        EXPECT_EQ(c.read_until_type("subscribed")["recovered"]["ch-1"], true);
        std::size_t same = 0;
        for (std::uint64_t seq = 0; seq < newest;) {
            const auto bytes = c.read_text();
            const auto m = json::parse(bytes);
            ASSERT_EQ(m["seq"], seq + 1) << bytes.substr(0, 200);
            seq = m["seq"];
            if (auto it = recorded.find("ch-1:" + std::to_string(seq)); it != recorded.end()) {
                EXPECT_EQ(bytes, it->second) << "seq " << seq;
                ++same;
            }
        }
        EXPECT_GT(same, 0u);
    }
    replay.send_signal(SIGTERM);
    EXPECT_TRUE(exited_with(replay.wait_exit(20s), 0)) << replay.err();
}

TEST(RecordingAbuse, VerifySeesARecordedAbuseCloseAgain) {
    TempDir dir("abuse");
    const auto db = dir.path / "abuse.db";
    Child serve({"serve", "--port", "0", "--record", db.string(), "--time-scale", "20"});
    const auto port = listening_port(serve);
    {
        WsClient c(port, "/ws/network");
        c.read_text();
        // 101 errors, the default budget's 100 and one more. One every 25 ms stays under the
        // rate limit (50/s), so each is bad_json here and again when verify re-drives it at the
        // recorded instants: pacing a rate, not waiting for anything.
        for (int i = 0; i < 101; ++i) {
            c.send("{");
            std::this_thread::sleep_for(25ms);
        }
        while (c.read()) {
        }
        EXPECT_EQ(c.close_code(), 1008);
    }
    serve.send_signal(SIGTERM);
    ASSERT_TRUE(exited_with(serve.wait_exit(20s), 0)) << serve.err();

    Child verify({"verify", db.string()});
    EXPECT_TRUE(exited_with(verify.wait_exit(60s), 0)) << verify.out() << verify.err();
    EXPECT_NE(verify.out().find("all 1 session(s) the same"), std::string::npos) << verify.out();
}

}  // namespace
}  // namespace streambed::testing
