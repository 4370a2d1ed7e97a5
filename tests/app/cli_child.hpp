// cli_child.hpp: the CLI tests' `streambed` child process — started as `serve` on a free port and
// waited for (its listening line, its streams, its signal handlers), and the CLI contract for bad
// input (exit 2, one line naming the problem, nothing on stdout).
// Every wait has a deadline; every child is killed and reaped by its owner's destructor.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {

using namespace std::chrono_literals;

constexpr std::int64_t kEpochMs = 1762732800000;  // the demo source's fixed epoch

inline std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "wait status " + std::to_string(status);
}

// How a child ended, or "still running" when the wait gave up.
inline std::string describe(const std::optional<int>& status) {
    return status ? describe_status(*status) : "still running";
}

// Waits until the server's /q/health answers 200 (up to the deadline); the last answer.
inline HttpResult wait_healthy(std::uint16_t port) {
    HttpResult health;
    wait_until([&] {
        health = http_get(port, "/q/health");
        return health.status == 200;
    });
    return health;
}

inline bool exited_with(int status, int code) {
    return WIFEXITED(status) && WEXITSTATUS(status) == code;
}

// `streambed ARGS...` as a child process.
class Child : public ChildProcess {
  public:
    explicit Child(const std::vector<std::string>& args) : ChildProcess(STREAMBED_BINARY, args) {}
};

// A `serve` child on a free port, past its listening line.
struct Serving {
    std::unique_ptr<Child> child;
    std::string line;
    std::string scheme;  // http or https
    std::uint16_t port = 0;
};

// True once the process has handlers installed for both SIGINT and SIGTERM (/proc's SigCgt).
inline bool catches_stop_signals(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line)) {
        if (!line.starts_with("SigCgt:")) continue;
        const auto mask = std::stoull(line.substr(7), nullptr, 16);
        const auto wanted = (1ull << (SIGINT - 1)) | (1ull << (SIGTERM - 1));
        return (mask & wanted) == wanted;
    }
    return false;
}

// How far start_serve() waits past the listening line.
enum class Wait {
    line,   // nothing more: what a script sees
    ready,  // also until the source's streams exist and SIGINT/SIGTERM are handled
};

inline Serving start_serve(std::vector<std::string> extra, Wait wait = Wait::ready) {
    std::vector<std::string> args{"serve", "--port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    Serving s;
    s.child = std::make_unique<Child>(args);
    auto line = s.child->next_line(10s);
    if (!line) {
        throw std::runtime_error("no listening line within 10 s; stderr: " + s.child->err());
    }
    static const std::regex kLine(R"(listening on (https?)://127\.0\.0\.1:([0-9]{1,5}))");
    std::smatch m;
    if (!std::regex_match(*line, m, kLine))
        throw std::runtime_error("unexpected first line: " + *line);
    const int port = std::stoi(m[2].str());
    if (port <= 0 || port > 65535) throw std::runtime_error("not a real port: " + *line);
    s.line = *line;
    s.scheme = m[1].str();
    s.port = static_cast<std::uint16_t>(port);
    if (wait == Wait::ready) {
        // The listening line can come before the source has declared its streams and before the
        // signal handlers are installed (both reported; the *RightAfterTheListeningLine* tests
        // cover them). The other tests wait for both, so that each checks its own concern: the
        // streams they use are pollable (unknown ones answer 400).
        const bool ready = wait_until(
            [&] {
                return catches_stop_signals(s.child->pid()) &&
                       http_get(s.port, "/api/v11/poll/metrics?channels=metrics").status == 200 &&
                       http_get(s.port, "/api/v11/poll/channels?channels=ch-1").status == 200;
            },
            10s);
        if (!ready)
            throw std::runtime_error("streams or signal handlers missing 10 s after: " + *line);
    }
    return s;
}

inline bool is_data(const json& j) {
    return j.is_object() && j.contains("seq") && j.contains("data");
}

// The CLI contract for bad input: exit status 2, exactly one line on stderr naming every word
// of `named`, nothing on stdout. Returns the line.
inline std::string expect_refused(Child& c, const std::vector<std::string>& named) {
    auto st = c.wait_exit(10s);
    EXPECT_TRUE(st) << "still running after 10 s";
    if (!st) return "";
    EXPECT_TRUE(exited_with(*st, 2)) << describe_status(*st);
    const std::string err = c.err();
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "not one line: " << err;
    if (!err.empty()) {
        EXPECT_EQ(err.back(), '\n');
    }
    for (const auto& word : named)
        EXPECT_NE(err.find(word), std::string::npos) << "'" << word << "' not named in: " << err;
    EXPECT_EQ(c.out(), "");
    return err;
}

// The test certificate and key of fixtures/tls.
inline std::filesystem::path tls_fixtures() {
    return std::filesystem::path(STREAMBED_FIXTURES) / "tls";
}

}  // namespace streambed::testing
