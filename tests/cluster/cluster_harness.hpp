// cluster_harness.hpp: what the cluster tests run — a real redis-server child on a free port in
// a temporary folder (killed and started again on the same port for outages), real
// `streambed serve --redis` nodes on port 0, and readers of a node's health and a channel's seqs.
// Everything is a child of the test and dies with it; every wait has a deadline.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cluster/redis_connection.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {

using namespace std::chrono_literals;

// In-process nodes write to Redis as the program does: with SIGPIPE ignored (app/main.cpp), so
// a Redis that went away is an error value of the write, not the test's death.
inline const bool kSigpipeIgnored = std::signal(SIGPIPE, SIG_IGN) != SIG_ERR;

// The redis-server on PATH, or nullopt (the tests are then skipped, saying so).
inline std::optional<std::string> redis_server_program() {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/bin:/usr/sbin";
    for (std::size_t start = 0; start <= dirs.size();) {
        const auto end = std::min(dirs.find(':', start), dirs.size());
        const auto candidate =
            std::filesystem::path(dirs.substr(start, end - start)) / "redis-server";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        start = end + 1;
    }
    return std::nullopt;
}

#define SKIP_WITHOUT_REDIS()                                                                 \
    if (!::streambed::testing::redis_server_program())                                       \
    GTEST_SKIP()                                                                             \
        << "redis-server is not installed: scripts/setup.sh installs Debian's redis-server " \
           "(apt-get install redis-server)"

// A port the kernel just said was free (bound to port 0, then released).
inline std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw std::runtime_error(errno_text("free port"));
    ::close(fd);
    return ntohs(a.sin_port);
}

// redis-server without persistence: a restart comes back empty, as a lost Redis would.
class RedisServer {
  public:
    RedisServer() {
        char dir[] = "/tmp/streambed-redis-XXXXXX";
        if (!::mkdtemp(dir)) throw std::runtime_error(errno_text("mkdtemp"));
        dir_ = dir;
        for (int attempt = 0; attempt < 5 && !child_; ++attempt) {
            port_ = free_port();
            start();
        }
        if (!child_) throw std::runtime_error("redis-server did not start: " + last_error_);
    }
    ~RedisServer() {
        child_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // Starts it (again) on its port; leaves child_ empty when it did not become ready.
    void start() {
        auto child = std::make_unique<ChildProcess>(
            *redis_server_program(),
            std::vector<std::string>{"--port", std::to_string(port_), "--bind", "127.0.0.1",
                                     "--unixsocket", socket_path(), "--unixsocketperm", "700",
                                     "--save", "", "--appendonly", "no", "--dir", dir_});
        for (auto line = child->next_line(10s); line; line = child->next_line(10s))
            if (line->find("Ready to accept connections") != std::string::npos) {
                child_ = std::move(child);
                return;
            }
        last_error_ = child->out() + child->err();
    }
    void kill() {
        child_->send_signal(SIGKILL);
        child_->wait_exit(10s);
        child_.reset();
    }
    // SIGSTOP, SIGCONT: a Redis that stops answering, with its connections open.
    void pause() { child_->send_signal(SIGSTOP); }
    void resume() { child_->send_signal(SIGCONT); }
    std::uint16_t port() const { return port_; }
    std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
    // The same Redis through its Unix-domain socket, in its own directory.
    std::string socket_path() const { return dir_ + "/redis.sock"; }
    std::string unix_url() const { return "unix://" + socket_path(); }
    bool running() const { return child_ != nullptr; }

  private:
    std::string dir_;
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> child_;
    std::string last_error_;
};

// A synchronous connection to `redis` (a failure is the test's).
inline std::unique_ptr<cluster::RedisConnection> connect_redis(const RedisServer& redis) {
    std::string error;
    auto address = cluster::parse_redis_url(redis.url(), error);
    auto c = cluster::RedisConnection::open(*address, std::chrono::milliseconds(1000), error);
    EXPECT_TRUE(c) << error;
    return c;
}

// Seqs that are not the one before plus one: a gap or a repeat.
inline std::vector<std::string> breaks_in(const std::vector<std::uint64_t>& seqs) {
    std::vector<std::string> out;
    for (std::size_t i = 1; i < seqs.size(); ++i)
        if (seqs[i] != seqs[i - 1] + 1)
            out.push_back(std::to_string(seqs[i - 1]) + " then " + std::to_string(seqs[i]));
    return out;
}

// The seqs of one Redis stream as Redis holds them (redis-cli XRANGE), oldest first: what the
// cluster published, whatever the nodes made of it.
inline std::vector<std::uint64_t> redis_seqs(const RedisServer& redis, const std::string& key) {
    const auto cli = std::filesystem::path(*redis_server_program()).parent_path() / "redis-cli";
    ChildProcess child(cli.string(), {"-p", std::to_string(redis.port()), "XRANGE", key, "-", "+"});
    if (!child.wait_exit(10s)) return {};
    std::vector<std::uint64_t> seqs;
    // Each entry is its id, then field and value lines: n, s, y, t, b.
    std::istringstream lines(child.out());
    for (std::string line; std::getline(lines, line);)
        if (line == "s" && std::getline(lines, line)) seqs.push_back(std::stoull(line));
    return seqs;
}

// `streambed serve --port 0 --redis URL --cluster NAME ...`, past its listening line. The world
// runs ten times faster than real time, so ch-1 updates every 200 ms.
struct ClusterNodeProcess {
    ClusterNodeProcess(const std::string& redis_url, const std::string& cluster,
                       const std::vector<std::string>& extra = {}) {
        std::vector<std::string> args{"serve",     "--port", "0",         "--redis", redis_url,
                                      "--cluster", cluster,  "--threads", "1"};
        args.insert(args.end(), extra.begin(), extra.end());
        // Defaults of these tests, unless the test gives its own.
        for (auto [option, value] :
             {std::pair{"--time-scale", "10"}, std::pair{"--lease-ttl", "1s"}})
            if (std::find(extra.begin(), extra.end(), option) == extra.end())
                args.insert(args.end(), {option, value});
        child = std::make_unique<ChildProcess>(STREAMBED_BINARY, args);
        const auto line = child->next_line(20s);
        if (!line)
            throw std::runtime_error("no listening line within 20 s; stderr: " + child->err());
        static const std::regex kLine(R"(listening on http://127\.0\.0\.1:([0-9]{1,5}))");
        std::smatch m;
        if (!std::regex_match(*line, m, kLine))
            throw std::runtime_error("unexpected first line: " + *line);
        port = static_cast<std::uint16_t>(std::stoi(m[1].str()));
    }
    // The redis check of /q/health: {"name":"redis","status":…,"data":{…}}, or null.
    json redis_check() const {
        const auto r = http_get(port, "/q/health");
        if (r.status == 0) return nullptr;
        const json health = r.body_json();  // kept: the loop reads into it
        for (const auto& c : health["checks"])
            if (c["name"] == "redis") return c;
        return nullptr;
    }
    bool is_source() const {
        const auto c = redis_check();
        return c.is_object() && c["status"] == "UP" && c["data"].value("role", "") == "source";
    }
    std::unique_ptr<ChildProcess> child;
    std::uint16_t port = 0;
};

// A name of its own per test: a cluster's keys never meet another test's.
inline std::string cluster_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info->name()).substr(0, 40) + "-" + std::to_string(::getpid());
}

// A /ws/channels client of one channel, remembering each data message's seq and bytes.
struct ChannelReader {
    // A read that times out leaves the client unusable (WsClient): `patience` must outlast any
    // silence the test expects (an outage).
    ChannelReader(std::uint16_t port, const std::string& id,
                  const json& subscribe_extra = json::object(),
                  std::chrono::milliseconds patience = 10s)
        : ws(port, "/ws/channels", patience), channel(id) {
        welcome = ws.read_json();
        json sub{{"action", "subscribe"}, {"channels", {id}}};
        sub.update(subscribe_extra);
        ws.send_json(sub);
        subscribed = ws.read_until_type("subscribed");
        snapshot_first = !subscribe_extra.contains("since");
    }
    // Reads until `n` more data messages of the channel arrived; false at the deadline.
    bool read(std::size_t n, std::chrono::milliseconds deadline = 20s) {
        const std::size_t want = seqs.size() + n;
        return read_while([&] { return seqs.size() < want; }, deadline);
    }
    // The protocol's ping: true when its pong came back (data read meanwhile is kept).
    bool ping(std::chrono::milliseconds deadline = 10s) {
        const int before = pongs;
        ws.send_json({{"action", "ping"}, {"id", before}});
        return read_while([&] { return pongs == before; }, deadline);
    }
    template <class More>
    bool read_while(More more, std::chrono::milliseconds deadline) {
        const auto end = std::chrono::steady_clock::now() + deadline;
        while (more() && std::chrono::steady_clock::now() < end) {
            auto text = ws.read();
            if (!text) return false;  // closed, or silent for longer than the patience
            const auto m = json::parse(*text);
            if (m.value("type", "") == "pong") pongs++;
            if (!m.contains("seq") || m.value("channel", "") != channel || m["type"] == "reset")
                continue;
            seqs.push_back(m["seq"].get<std::uint64_t>());
            bytes.push_back(*text);
            arrived.push_back(std::chrono::steady_clock::now());
        }
        return !more();
    }
    // After a snapshot (the newest state), live messages continue after the stream's newest
    // seq: events between the two are not owed (docs/protocol.md), so that jump is no break.
    std::vector<std::string> breaks() const {
        if (!snapshot_first || seqs.empty()) return breaks_in(seqs);
        return breaks_in(std::vector<std::uint64_t>(seqs.begin() + 1, seqs.end()));
    }
    WsClient ws;
    std::string channel;
    json welcome, subscribed;
    bool snapshot_first = true;
    std::vector<std::uint64_t> seqs;
    std::vector<std::string> bytes;
    std::vector<std::chrono::steady_clock::time_point> arrived;
    int pongs = 0;
};

}  // namespace streambed::testing
