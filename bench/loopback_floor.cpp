// loopback_floor.cpp: a bare WebSocket writer on loopback, read by the load client's fleet and
// timed like `streambed bench`.
#include "bench/loopback_floor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/load_client.hpp"
#include "engine/clock.hpp"
#include "engine/frame_header.hpp"
#include "engine/ws_frames.hpp"

namespace streambed::bench {
namespace {

using steady = std::chrono::steady_clock;

// Closes every descriptor it holds, whatever way the measurement ends.
struct Fds {
    std::vector<int> v;
    ~Fds() {
        for (int fd : v)
            if (fd >= 0) ::close(fd);
    }
};

// The clients never hear from the floor between rounds: no heartbeat for an hour.
constexpr std::int64_t kHeartbeatMs = 3'600'000;
// The first round is due this long after everyone is welcomed: the load's window has begun.
constexpr std::chrono::milliseconds kLeadIn{100};

std::string text_frame(std::string_view payload) {
    std::string frame(engine::text_frame_header(payload.size()).view());
    frame.append(payload);
    return frame;
}

std::string welcome(std::int64_t wall_ms) {
    return R"({"type":"welcome","clock":{"time":)" + std::to_string(wall_ms) + R"(,"wall":)" +
           std::to_string(wall_ms * 1000) + R"(,"scale":1},"heartbeatMs":)" +
           std::to_string(kHeartbeatMs) + "}";
}

// Round `seq`'s message, due at `due_ms`, padded to `size` bytes as the run's were on average.
std::string message(std::uint64_t seq, std::int64_t due_ms, std::size_t size) {
    std::string m = R"({"type":"channel_update","channel":"floor","seq":)" + std::to_string(seq) +
                    R"(,"time":)" + std::to_string(due_ms) + R"(,"data":{"pad":")";
    const std::size_t tail = 3;  // "}}
    m.append(size > m.size() + tail ? size - m.size() - tail : 0, 'x');
    m.append("\"}}");
    return m;
}

bool send_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {  // blocking sockets: whole frames
        const ssize_t w = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (w <= 0) return false;
        bytes.remove_prefix(static_cast<std::size_t>(w));
    }
    return true;
}

// Reads one upgrade request from `fd` (blocking, bounded by SO_RCVTIMEO) and answers it with the
// 101 and a welcome whose clock is the wall clock itself (scale 1, anchored at `wall_ms`).
bool upgrade(int fd, std::int64_t wall_ms) {
    std::string request;
    char buf[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16 * 1024) {
        const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
        if (got <= 0) return false;
        request.append(buf, static_cast<std::size_t>(got));
    }
    constexpr std::string_view kKey = "sec-websocket-key:";
    std::string lower(request);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto at = lower.find(kKey);
    if (at == std::string::npos) return false;
    auto begin = at + kKey.size();
    while (begin < request.size() && request[begin] == ' ') ++begin;
    const auto end = request.find("\r\n", begin);
    return send_all(fd, engine::upgrade_response(request.substr(begin, end - begin))) &&
           send_all(fd, text_frame(welcome(wall_ms)));
}

}  // namespace

FloorResult measure_floor(const FloorOptions& o) {
    Fds listener, servers;
    const int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    listener.v.push_back(lfd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (lfd < 0 || ::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(lfd, 4096) != 0 ||
        ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error(std::string("loopback floor: cannot listen: ") +
                                 std::strerror(errno));

    // The clock every welcome carries: the wall clock, from a whole millisecond.
    const std::int64_t anchor_ms = engine::wall_now_us() / 1000;
    // Rounds a whole number of milliseconds apart: a message's `time` is in milliseconds.
    const std::int64_t interval_ms = std::max<std::int64_t>(1, (o.interval.count() + 500) / 1000);

    // Welcomes whoever connects until the load has everyone (or gave up on some).
    std::atomic<bool> accepting{true};
    std::thread acceptor([&] {
        while (accepting.load()) {
            pollfd p{lfd, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0) continue;
            const int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
            if (s < 0) continue;
            const timeval limit{5, 0};
            ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
            const int one = 1;  // as the server's sockets: no Nagle delay
            ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (upgrade(s, anchor_ms))
                servers.v.push_back(s);
            else
                ::close(s);
        }
    });

    std::vector<std::thread> senders;
    std::size_t welcomed = 0;
    LoadOptions load;
    load.port = ntohs(addr.sin_port);
    load.endpoint = o.endpoint;
    load.subscribe = o.subscribe;
    load.clients = o.connections;
    load.threads = o.readers;
    load.duration = std::chrono::milliseconds(interval_ms * static_cast<std::int64_t>(o.rounds)) +
                    kLeadIn + std::chrono::seconds(5);
    load.until = [&](const fleet::GroupTotals& w) { return w.messages >= welcomed * o.rounds; };
    const auto start_rounds = [&](Phase phase) {
        if (phase != Phase::connected) return;
        accepting.store(false);
        acceptor.join();
        const std::int64_t wall_now = engine::wall_now_us();
        const auto steady_now = steady::now();
        const std::int64_t first_ms = (wall_now + kLeadIn.count() * 1000) / 1000 + 1;
        const auto steady_first =
            steady_now + std::chrono::microseconds(first_ms * 1000 - wall_now);
        const std::vector<int> fds = servers.v;
        welcomed = fds.size();
        for (unsigned s = 0; s < std::max(1u, o.senders); ++s) {
            senders.emplace_back([&o, fds, s, first_ms, steady_first, interval_ms] {
                const std::size_t step = std::max(1u, o.senders);
                for (std::size_t round = 0; round < o.rounds; ++round) {
                    const auto offset = static_cast<std::int64_t>(round) * interval_ms;
                    std::this_thread::sleep_until(steady_first + std::chrono::milliseconds(offset));
                    const std::string frame =
                        text_frame(message(round + 1, first_ms + offset, o.message_bytes));
                    for (std::size_t i = s; i < fds.size(); i += step) send_all(fds[i], frame);
                }
            });
        }
    };
    LoadResult loaded;
    try {
        loaded = run_load(load, start_rounds);
    } catch (...) {
        accepting.store(false);
        if (acceptor.joinable()) acceptor.join();
        for (auto& t : senders) t.join();
        throw;
    }
    if (acceptor.joinable()) {  // nobody was welcomed: the load never reached its window
        accepting.store(false);
        acceptor.join();
    }
    for (auto& t : senders) t.join();
    if (loaded.connected == 0)
        throw std::runtime_error("loopback floor: no connection was welcomed");
    FloorResult result;
    result.connections = loaded.connected;
    result.messages = loaded.messages;
    result.lateness_us = loaded.lateness_us;
    return result;
}

}  // namespace streambed::bench
