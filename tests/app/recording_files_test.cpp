// recording_files_test.cpp: the real program against recording files a hostile tester would
// hand it (issue 11): `serve --record` into a damaged file is refused and leaves it untouched;
// readers open read-only, create no side files and read a recording in a directory they cannot
// write; an unknown `export --run` and a damaged file are refused naming the file.
// One recording is made per suite (`serve --record --clock-start`: ten simulated minutes
// caught up at start), copied into each test's own directory; everything is removed after.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

namespace fs = std::filesystem;
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
        if (fs::exists(path, ec)) fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
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
        const auto now_ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
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
        if (!exited_with(serve.wait_exit(20s), 0)) throw std::runtime_error("serve did not exit 0: " + serve.err());
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
        {"inspect", r.string()}, {"inspect", r.string(), "--json"}, {"export", r.string()},
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

}  // namespace
}  // namespace streambed::testing
