// proxy_test.cpp: the impairment proxy on real loopback sockets with a TCP echo server upstream —
// latency, bandwidth, stall, reset, limit_data, slices, partition, and the seeded schedule.
// Every wait has a deadline; no sleep stands in for synchronisation.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "proxy/impairment_proxy.hpp"
#include "tests/proxy/tcp_peers.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
using Clock = std::chrono::steady_clock;

namespace {

using namespace std::chrono_literals;
using proxy::Direction;
using proxy::Impairment;
using proxy::ImpairmentProxy;

struct Fixture {
    explicit Fixture(std::uint64_t seed = 42) : proxy(options(echo.port(), seed)) { proxy.start(); }
    static proxy::ProxyOptions options(std::uint16_t upstream, std::uint64_t seed) {
        proxy::ProxyOptions o;
        o.upstream_port = upstream;
        o.seed = seed;
        return o;
    }
    EchoServer echo;
    ImpairmentProxy proxy;
};

Impairment named(std::string name, Direction d = Direction::both) {
    Impairment i;
    i.name = std::move(name);
    i.direction = d;
    return i;
}

// One round trip of a small message, in microseconds.
double round_trip_us(TcpClient& c, int n) {
    const std::string msg = "ping-" + std::to_string(1000 + n);
    const auto t0 = Clock::now();
    EXPECT_TRUE(c.send(msg));
    EXPECT_EQ(c.read_exact(msg.size()), msg);
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

TEST(ImpairmentProxy, ForwardsBothWaysAndCounts) {
    Fixture f;
    TcpClient c(f.proxy.port());
    const std::string big(200'000, 'z');
    ASSERT_TRUE(c.send(big));
    EXPECT_EQ(c.read_exact(big.size()), big);
    // The last write's completion may be counted just after the client has the bytes.
    EXPECT_TRUE(wait_until([&] { return f.proxy.stats().bytes_down == big.size(); }));
    const auto s = f.proxy.stats();
    EXPECT_EQ(s.accepted, 1u);
    EXPECT_EQ(s.open, 1u);
    EXPECT_EQ(s.bytes_up, big.size());
}

TEST(ImpairmentProxy, LatencyAddsItsDelay) {
    Fixture f;
    auto lag = named("lag", Direction::downstream);
    lag.latency = 100ms;
    f.proxy.add(lag);
    TcpClient direct(f.echo.port());
    TcpClient through(f.proxy.port());
    double direct_best = 1e12;
    for (int i = 0; i < 4; ++i) direct_best = std::min(direct_best, round_trip_us(direct, i));
    for (int i = 0; i < 4; ++i) {
        const double p = round_trip_us(through, i);
        // Never less than the latency (bytes are released no earlier); the machine's own
        // delays may add to it, generously bounded for a loaded 2-core machine.
        EXPECT_GE(p, 100'000) << "round trip " << i;
        EXPECT_LE(p - direct_best, 100'000 + 80'000)
            << "round trip " << i << ", direct " << direct_best << " us";
    }
    EXPECT_EQ(f.proxy.schedule("1", Direction::downstream).front(), 100'000);
}

TEST(ImpairmentProxy, BandwidthCaps) {
    Fixture f;
    auto cap = named("cap", Direction::upstream);
    cap.bandwidth = 50'000;
    f.proxy.add(cap);
    TcpClient c(f.proxy.port(), 10s);
    const std::string payload(100'000, 'b');
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.send(payload));
    EXPECT_EQ(c.read_exact(payload.size()).size(), payload.size());
    const auto took = Clock::now() - t0;
    EXPECT_GE(took, 1800ms);
    EXPECT_LE(took, 6s);
}

TEST(ImpairmentProxy, StallHoldsThenFlows) {
    Fixture f;
    TcpClient c(f.proxy.port(), 300ms);
    ASSERT_EQ(round_trip_us(c, 0) > 0, true);
    f.proxy.add([] {
        auto s = named("hole", Direction::upstream);
        s.stall = true;
        return s;
    }());
    ASSERT_TRUE(c.send("held"));
    EXPECT_EQ(c.read_exact(4), "") << "a stall forwards nothing";
    ASSERT_TRUE(f.proxy.remove("hole"));
    c.set_timeout(5s);
    EXPECT_EQ(c.read_exact(4), "held");
}

TEST(ImpairmentProxy, StallIsBoundedByBackPressure) {
    proxy::ProxyOptions o = Fixture::options(0, 42);
    EchoServer echo;
    o.upstream_port = echo.port();
    o.max_held_bytes = 64 * 1024;
    ImpairmentProxy p(o);
    p.start();
    auto s = named("hole", Direction::upstream);
    s.stall = true;
    p.add(s);
    TcpClient c(p.port(), 5s);
    ASSERT_TRUE(c.send("x"));  // the connection opens upstream
    // Much more than the bound: the proxy stops reading; the client's send buffer fills.
    const std::string chunk(64 * 1024, 'q');
    std::uint64_t sent_before = p.stats().bytes_up;
    ASSERT_TRUE(c.send(chunk));
    ASSERT_TRUE(c.send(chunk));
    EXPECT_EQ(p.stats().bytes_up, sent_before);
    p.remove("hole");
    EXPECT_EQ(c.read_exact(1 + 2 * chunk.size()).size(), 1 + 2 * chunk.size());
}

TEST(ImpairmentProxy, ResetResetsOpenAndNewConnections) {
    Fixture f;
    TcpClient open(f.proxy.port());
    round_trip_us(open, 0);
    f.proxy.add([] {
        auto r = named("rst");
        r.reset = true;
        return r;
    }());
    EXPECT_EQ(open.read_exact(1), "");
    EXPECT_EQ(open.last_errno(), ECONNRESET);
    TcpClient fresh(f.proxy.port());
    EXPECT_EQ(fresh.read_exact(1), "");
    EXPECT_EQ(fresh.last_errno(), ECONNRESET);
    EXPECT_TRUE(wait_until([&] { return f.proxy.stats().resets == 2; }));
    f.proxy.clear();
    TcpClient after(f.proxy.port());
    round_trip_us(after, 1);
}

TEST(ImpairmentProxy, ResetAllResetsEveryOpenConnection) {
    Fixture f;
    TcpClient a(f.proxy.port()), b(f.proxy.port());
    round_trip_us(a, 0);
    round_trip_us(b, 0);
    f.proxy.reset_all();
    EXPECT_EQ(a.read_exact(1), "");
    EXPECT_EQ(a.last_errno(), ECONNRESET);
    EXPECT_EQ(b.read_exact(1), "");
    EXPECT_EQ(b.last_errno(), ECONNRESET);
}

TEST(ImpairmentProxy, LimitDataClosesAfterNBytes) {
    Fixture f;
    auto lim = named("limit", Direction::downstream);
    lim.limit_data = 1000;
    f.proxy.add(lim);
    TcpClient c(f.proxy.port());
    ASSERT_TRUE(c.send(std::string(5000, 'l')));
    EXPECT_EQ(c.read_to_end().size(), 1000u);
    EXPECT_TRUE(c.eof()) << "closed, not timed out";
}

TEST(ImpairmentProxy, SlicesArePaced) {
    Fixture f;
    auto sl = named("slicer", Direction::downstream);
    sl.slice = 10;
    sl.slice_delay = 20ms;
    f.proxy.add(sl);
    TcpClient c(f.proxy.port());
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.send(std::string(100, 's')));
    EXPECT_EQ(c.read_exact(100).size(), 100u);
    EXPECT_GE(Clock::now() - t0, 9 * 20ms) << "ten pieces, nine pauses at least";
}

TEST(ImpairmentProxy, PartitionBlackHolesThenHeals) {
    Fixture f;
    TcpClient before(f.proxy.port(), 300ms);
    round_trip_us(before, 0);
    f.proxy.set_partition(true);
    TcpClient during(f.proxy.port(), 300ms);  // accepted, never connected upstream
    ASSERT_TRUE(before.send("b4"));
    ASSERT_TRUE(during.send("du"));
    EXPECT_EQ(before.read_exact(2), "");
    EXPECT_EQ(during.read_exact(2), "");
    f.proxy.set_partition(false);
    before.set_timeout(5s);
    during.set_timeout(5s);
    EXPECT_EQ(before.read_exact(2), "b4");
    EXPECT_EQ(during.read_exact(2), "du");
}

// ---- determinism ----

// A client that names itself like the fleet, then sends `total` bytes in writes of `chunk`,
// reading the echo as it goes; returns what it received.
std::string keyed_run(std::uint16_t port, const std::string& key, std::size_t total,
                      std::size_t chunk) {
    TcpClient c(port, 10s);
    const std::string head = "GET /raw HTTP/1.1\r\nX-Streambed-Client: " + key + "\r\n\r\n";
    EXPECT_TRUE(c.send(head));
    std::string got = c.read_exact(head.size());
    std::string body;
    for (std::size_t i = 0; i < total; ++i)
        body.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
    for (std::size_t off = 0; off < total; off += chunk) {
        EXPECT_TRUE(c.send(body.substr(off, chunk)));
        got += c.read_exact(std::min(chunk, total - off));
    }
    return got;
}

std::vector<std::int64_t> jittered_schedule(std::uint64_t seed, std::size_t chunk,
                                            std::string* received = nullptr) {
    Fixture f(seed);
    auto j = named("jitter", Direction::downstream);
    j.latency = 2ms;
    j.jitter = 2ms;
    f.proxy.add(j);
    const std::string got = keyed_run(f.proxy.port(), "fleet/7/0", 8 * 1024, chunk);
    if (received) *received = got;
    EXPECT_TRUE(wait_until(
        [&] { return f.proxy.schedule("fleet/7/0", Direction::downstream).size() == 9; }));
    return f.proxy.schedule("fleet/7/0", Direction::downstream);
}

TEST(ImpairmentProxyDeterminism, SameSeedSameScheduleWhateverTheReads) {
    std::string first_bytes, second_bytes;
    const auto a = jittered_schedule(7, 8 * 1024, &first_bytes);
    const auto b = jittered_schedule(7, 100, &second_bytes);  // other TCP read boundaries
    ASSERT_EQ(a.size(), 9u) << "the echoed head, then eight 1 KiB units";
    EXPECT_EQ(a, b);
    EXPECT_EQ(first_bytes, second_bytes);
    for (auto d : a) {
        EXPECT_GE(d, 0);
        EXPECT_LE(d, 4000);
    }
    EXPECT_GT(std::set<std::int64_t>(a.begin(), a.end()).size(), 3u) << "the jitter draws vary";
    const auto other = jittered_schedule(8, 8 * 1024);
    EXPECT_NE(a, other) << "another seed, another schedule";
}

TEST(ImpairmentProxyDeterminism, KeysWithoutTheHeaderAreAcceptOrdinals) {
    Fixture f;
    auto j = named("jitter", Direction::downstream);
    j.jitter = 1ms;
    f.proxy.add(j);
    TcpClient a(f.proxy.port()), b(f.proxy.port());
    round_trip_us(a, 0);
    round_trip_us(b, 0);
    EXPECT_EQ(f.proxy.schedule("1", Direction::downstream).size(), 1u);
    EXPECT_EQ(f.proxy.schedule("2", Direction::downstream).size(), 1u);
    EXPECT_TRUE(f.proxy.schedule("1", Direction::upstream).empty()) << "downstream only";
}

}  // namespace
}  // namespace streambed::testing
