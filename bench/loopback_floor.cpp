// loopback_floor.cpp: raw TCP fan-out on loopback, timed like `streambed bench`.
#include "bench/loopback_floor.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "engine/clock.hpp"

namespace streambed::bench {
namespace {

// Closes every descriptor it holds, whatever way the measurement ends.
struct Fds {
    std::vector<int> v;
    ~Fds() {
        for (int fd : v)
            if (fd >= 0) ::close(fd);
    }
};

// One client socket's progress through the current message: its first 8 bytes are the due
// instant, which a read may deliver in pieces.
struct Reading {
    int fd;
    std::size_t pos = 0;
    unsigned char due[8]{};
};

}  // namespace

FloorResult measure_floor(const FloorOptions& o) {
    const std::size_t size = std::max<std::size_t>(o.message_bytes, 8);
    Fds listener, servers, clients;
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
    for (std::size_t i = 0; i < o.connections; ++i) {
        const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0) break;
        clients.v.push_back(c);
        if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) break;
        const int s = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (s < 0) break;
        servers.v.push_back(s);
        const int one = 1;  // as the server's sockets: no Nagle delay
        ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    const std::size_t n = servers.v.size();
    if (n == 0) throw std::runtime_error("loopback floor: no connection could be opened");

    FloorResult result;
    result.connections = n;
    const unsigned senders = std::max(1u, o.senders), readers = std::max(1u, o.readers);
    const std::uint64_t expected = static_cast<std::uint64_t>(n) * o.rounds;
    std::atomic<std::uint64_t> received{0};
    std::mutex merge;

    // The schedule: round r is due at start + r * interval (wall clock for lateness, steady
    // clock to sleep on), a little after every thread is up.
    const auto steady_start = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    const std::int64_t wall_start = engine::wall_now_us() + 50'000;
    const auto give_up =
        steady_start + o.interval * static_cast<std::int64_t>(o.rounds) + std::chrono::seconds(5);

    std::vector<std::thread> threads;
    for (unsigned r = 0; r < readers; ++r) {
        threads.emplace_back([&, r] {
            const int ep = ::epoll_create1(EPOLL_CLOEXEC);
            std::vector<Reading> mine;
            for (std::size_t i = r; i < n; i += readers) mine.push_back({clients.v[i]});
            for (auto& m : mine) {
                epoll_event ev{};
                ev.events = EPOLLIN;
                ev.data.ptr = &m;
                ::epoll_ctl(ep, EPOLL_CTL_ADD, m.fd, &ev);
            }
            fleet::Histogram samples;
            std::vector<char> buf(std::max<std::size_t>(size, 64 * 1024));
            epoll_event events[256];
            while (received.load(std::memory_order_relaxed) < expected &&
                   std::chrono::steady_clock::now() < give_up) {
                const int k = ::epoll_wait(ep, events, 256, 100);
                for (int e = 0; e < k; ++e) {
                    auto& m = *static_cast<Reading*>(events[e].data.ptr);
                    const ssize_t got = ::recv(m.fd, buf.data(), buf.size(), MSG_DONTWAIT);
                    if (got <= 0) continue;
                    const std::int64_t now = engine::wall_now_us();
                    for (std::size_t at = 0; at < static_cast<std::size_t>(got);) {
                        const std::size_t take =
                            std::min(size - m.pos, static_cast<std::size_t>(got) - at);
                        if (m.pos < 8)
                            std::memcpy(m.due + m.pos, buf.data() + at,
                                        std::min<std::size_t>(take, 8 - m.pos));
                        m.pos += take;
                        at += take;
                        if (m.pos == size) {
                            std::int64_t due;
                            std::memcpy(&due, m.due, 8);
                            samples.record(now - due);
                            received.fetch_add(1, std::memory_order_relaxed);
                            m.pos = 0;
                        }
                    }
                }
            }
            ::close(ep);
            std::lock_guard lock(merge);
            result.lateness_us.merge(samples);
        });
    }
    for (unsigned s = 0; s < senders; ++s) {
        threads.emplace_back([&, s] {
            std::vector<char> message(size, 'x');
            for (std::size_t round = 0; round < o.rounds; ++round) {
                std::this_thread::sleep_until(steady_start +
                                              o.interval * static_cast<std::int64_t>(round));
                const std::int64_t due =
                    wall_start + o.interval.count() * static_cast<std::int64_t>(round);
                std::memcpy(message.data(), &due, 8);
                for (std::size_t i = s; i < n; i += senders) {
                    for (std::size_t sent = 0; sent < size;) {  // blocking sockets: whole messages
                        const ssize_t w =
                            ::send(servers.v[i], message.data() + sent, size - sent, MSG_NOSIGNAL);
                        if (w <= 0) break;
                        sent += static_cast<std::size_t>(w);
                    }
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    result.messages = received.load();
    return result;
}

}  // namespace streambed::bench
