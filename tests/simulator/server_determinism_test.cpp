// server_determinism_test.cpp: determinism through the whole server. In-process engine::Server
// instances (port 0) fed by SimulatorSource at different time scales and I/O thread counts, with
// clients connecting at different moments, must send byte-identical data messages for every
// (endpoint, channel, seq) that two runs of the same seed both delivered; another seed differs.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/server.hpp"
#include "simulator/simulator_source.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::simulator {
using Clock = std::chrono::steady_clock;

namespace {

using namespace std::chrono_literals;
using testing::json;
using testing::WsClient;

constexpr std::int64_t kEpoch = 1762732800000;
// Every client reads until it has seen this much simulated time: 1.2 s of wall time at scale
// 200, 0.24 s at scale 1000. Long enough that two runs overlap by far more than kMinOverlap
// messages per stream even when the second run's clients connect 100 simulated seconds late.
constexpr std::int64_t kCollectUntil = kEpoch + 240'000;
constexpr std::size_t kMinOverlap = 20;
// A guard against a hang, not a timing: a run takes about a second alone, many times that on
// a loaded 2-core machine under the sanitizers (this test is labelled unit and runs there).
// Three runs stay within ctest's 120 s per test.
constexpr auto kRunDeadline = 35s;

// (endpoint, channel, seq) -> the exact bytes of the data message.
using Key = std::tuple<std::string, std::string, std::uint64_t>;
using Collected = std::map<Key, std::string>;

struct RunSpec {
    std::uint64_t seed;
    double time_scale;
    unsigned threads;
    std::size_t
        metrics_before_others;  // data messages the first client sees before the others connect
};

// One server with the simulator feeding it; the source stops before the server shuts down.
class SimulatedServer {
  public:
    explicit SimulatedServer(const RunSpec& spec) : server_(options(spec)), source_(config(spec)) {
        server_.start();
        source_.start(server_.publisher());
    }
    ~SimulatedServer() {
        source_.stop();
        server_.shutdown();
    }
    std::uint16_t port() const { return server_.port(); }

  private:
    static engine::ServerOptions options(const RunSpec& spec) {
        auto o = testing::test_options();
        o.threads = spec.threads;
        return o;
    }
    static SimConfig config(const RunSpec& spec) {
        SimConfig c;
        c.seed = spec.seed;
        c.time_scale = spec.time_scale;
        return c;
    }

    engine::Server server_;
    SimulatorSource source_;
};

// A client and what it has collected.
struct Reader {
    std::string endpoint;
    std::unique_ptr<WsClient> client;
    std::int64_t latest_time = 0;  // simulated time of the newest data message read
    std::size_t data = 0;
};

// Reads one message of `r` into `into`; false (with a test failure) when nothing comes.
bool read_one(Reader& r, Collected& into) {
    const auto text = r.client->read();
    if (!text) {
        ADD_FAILURE() << r.endpoint << ": no message after " << r.data << " data messages"
                      << (r.client->closed()
                              ? " (closed " + std::to_string(r.client->close_code()) + ")"
                              : "");
        return false;
    }
    const json j = json::parse(*text);
    if (j.value("type", "") == "error") {
        ADD_FAILURE() << r.endpoint << ": " << *text;
        return false;
    }
    if (!j.contains("seq")) return true;  // welcome, subscribed: control messages
    const auto time = j["time"].get<std::int64_t>();
    into.emplace(Key{r.endpoint, j["channel"].get<std::string>(), j["seq"].get<std::uint64_t>()},
                 *text);
    r.latest_time = std::max(r.latest_time, time);
    ++r.data;
    return true;
}

// One run: a /ws/metrics client from the start; once it has seen `metrics_before_others` data
// messages, a /ws/channels client subscribing "*" and a /ws/transactions client subscribing ch-1.
// Reads until every client has seen kCollectUntil, always reading the client that is furthest
// behind in simulated time, so that no client's backlog grows while another is read.
Collected run(const RunSpec& spec) {
    SimulatedServer server(spec);
    Collected out;
    const auto deadline = Clock::now() + kRunDeadline;

    std::vector<Reader> readers;
    readers.push_back({"/ws/metrics", std::make_unique<WsClient>(server.port(), "/ws/metrics")});
    while (readers[0].data < spec.metrics_before_others) {
        if (Clock::now() > deadline || !read_one(readers[0], out)) {
            ADD_FAILURE() << "the metrics client saw only " << readers[0].data << " data messages";
            return out;
        }
    }
    readers.push_back({"/ws/channels", std::make_unique<WsClient>(server.port(), "/ws/channels")});
    readers.back().client->send_json({{"action", "subscribe"}, {"channels", {"*"}}});
    readers.push_back(
        {"/ws/transactions", std::make_unique<WsClient>(server.port(), "/ws/transactions")});
    readers.back().client->send_json({{"action", "subscribe"}, {"channels", {"ch-1"}}});

    while (true) {
        Reader* behind = nullptr;
        for (auto& r : readers)
            if (r.latest_time < kCollectUntil && (!behind || r.latest_time < behind->latest_time))
                behind = &r;
        if (!behind) break;
        if (Clock::now() > deadline) {
            ADD_FAILURE() << behind->endpoint << " reached only simulated time "
                          << behind->latest_time << " within " << kRunDeadline.count() << " s";
            break;
        }
        if (!read_one(*behind, out)) break;
    }
    for (auto& r : readers) r.client->close();
    return out;
}

std::string stream_of(const Key& key) {
    return std::get<0>(key) + " " + std::get<1>(key);
}

// The streams the clients of run() receive.
std::set<std::string> expected_streams() {
    std::set<std::string> s{"/ws/metrics metrics", "/ws/transactions ch-1"};
    for (int i = 1; i <= 8; ++i) s.insert("/ws/channels ch-" + std::to_string(i));
    return s;
}

std::set<std::string> streams_in(const Collected& c) {
    std::set<std::string> s;
    for (const auto& [key, bytes] : c) s.insert(stream_of(key));
    return s;
}

struct Comparison {
    std::map<std::string, std::size_t> overlap, identical;  // per stream
    std::vector<std::string> mismatches;                    // keys whose bytes differ
};

Comparison compare(const Collected& a, const Collected& b) {
    Comparison c;
    for (const auto& [key, bytes] : a) {
        const auto it = b.find(key);
        if (it == b.end()) continue;
        const std::string stream = stream_of(key);
        ++c.overlap[stream];
        if (bytes == it->second)
            ++c.identical[stream];
        else if (c.mismatches.size() < 5)
            c.mismatches.push_back(stream + " seq " + std::to_string(std::get<2>(key)) + ":\n  " +
                                   bytes + "\n  " + it->second);
    }
    return c;
}

TEST(ServerDeterminism, SameSeedSameBytesWhateverTheScaleThreadsAndClients) {
    const Collected slow = run({42, 200, 1, 3});
    ASSERT_FALSE(::testing::Test::HasFailure());
    const Collected fast = run({42, 1000, 2, 12});
    ASSERT_FALSE(::testing::Test::HasFailure());
    const Collected other = run({43, 1000, 1, 6});
    ASSERT_FALSE(::testing::Test::HasFailure());

    EXPECT_EQ(streams_in(slow), expected_streams());
    EXPECT_EQ(streams_in(fast), expected_streams());
    EXPECT_EQ(streams_in(other), expected_streams());

    Comparison same = compare(slow, fast);
    for (const auto& stream : expected_streams()) {
        EXPECT_GE(same.overlap[stream], kMinOverlap)
            << stream << ": too few messages seen by both runs";
        EXPECT_EQ(same.identical[stream], same.overlap[stream])
            << stream << ": bytes differ for the same seq";
    }
    for (const auto& m : same.mismatches) ADD_FAILURE() << "same seed, different bytes: " << m;

    Comparison differ = compare(slow, other);
    for (const auto& stream : expected_streams()) {
        EXPECT_GE(differ.overlap[stream], kMinOverlap)
            << stream << ": too few messages seen by both runs";
        EXPECT_EQ(differ.identical[stream], 0u)
            << stream << ": seeds 42 and 43 gave identical messages";
    }
}

}  // namespace
}  // namespace streambed::simulator
