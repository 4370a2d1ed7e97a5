// fleet_tls_test.cpp: the fleet over TLS against an in-process TLS server (fixtures/tls): a group
// on wss:// receives every message with no gap; a certificate it does not trust fails every
// client with a reason that says so, unless verification is off; a refused client polls over
// https://.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "fleet/fleet.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::fleet {
namespace {

using namespace std::chrono_literals;
using engine::Endpoint;
using engine::MessageType;
using testing::TestServer;

const std::string kTls = std::string(STREAMBED_FIXTURES) + "/tls/";

engine::ServerOptions tls_server() {
    auto o = testing::test_options();
    o.tls_cert_file = kTls + "cert.pem";
    o.tls_key_file = kTls + "key.pem";
    return o;
}

ClientGroup metrics_group(std::size_t clients) {
    ClientGroup g;
    g.name = "wss";
    g.clients = clients;
    g.endpoint = "/ws/metrics";
    g.reconnect.enabled = false;  // one attempt each: every failure is counted once
    g.resume = false;
    return g;
}

FleetOptions fleet_options(TlsSettings tls) {
    FleetOptions o;
    o.threads = 2;
    o.connect_timeout = 10s;
    o.tls = std::move(tls);
    return o;
}

TEST(FleetTls, AGroupOnWssReceivesEveryMessageWithoutAGap) {
    TestServer srv(tls_server());
    const auto metrics = srv.declare(Endpoint::metrics, "metrics");
    Fleet fleet(fleet_options({kTls + "cert.pem", true}), {metrics_group(6)},
                {{"127.0.0.1", srv.port(), true}});
    fleet.start();
    ASSERT_TRUE(testing::wait_until([&] { return fleet.connected(0) == 6; }, 10s))
        << fleet.connected(0) << " of 6 connected";
    std::uint64_t last = 0;
    for (std::uint64_t n = 1; n <= 40; ++n)
        last = srv.publish_n(metrics, MessageType::metrics, n)->seq;
    ASSERT_TRUE(testing::wait_until([&] { return fleet.totals().at(0).messages >= 6 * 40; }, 10s))
        << fleet.totals().at(0).messages << " of 240 received";
    fleet.stop();
    const auto r = fleet.result({{{"/ws/metrics", "metrics"}, last}}).groups.at(0);
    EXPECT_EQ(r.connects, 6u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_EQ(r.messages, 6u * 40);
    EXPECT_EQ(r.seqs.distinct, 6u * 40);
    EXPECT_EQ(r.seqs.expected, 6u * 40);
    EXPECT_EQ(r.seqs.gaps, 0u);
    EXPECT_EQ(r.seqs.duplicates, 0u);
    EXPECT_TRUE(r.reasons.empty()) << r.reasons.begin()->first;
}

// Every client fails once; the reasons table has one line for all of them.
std::map<std::string, std::uint64_t> failures_of(TestServer& srv, TlsSettings tls,
                                                 std::size_t clients) {
    Fleet fleet(fleet_options(std::move(tls)), {metrics_group(clients)},
                {{"127.0.0.1", srv.port(), true}});
    fleet.start();
    EXPECT_TRUE(testing::wait_until([&] { return fleet.totals().at(0).failed == clients; }, 10s));
    fleet.stop();
    const auto r = fleet.result({}).groups.at(0);
    EXPECT_EQ(r.connects, 0u);
    return r.reasons;
}

TEST(FleetTls, ACertificateFromAnotherCaFailsAndTheReasonSaysSo) {
    TestServer srv(tls_server());
    // The system's store only, then another CA's certificate beside it: neither signed the
    // server's.
    for (const std::string ca : {"", "other-ca.pem"}) {
        const auto reasons = failures_of(srv, {ca.empty() ? "" : kTls + ca, true}, 3);
        ASSERT_EQ(reasons.size(), 1u) << "CA " << ca;
        EXPECT_EQ(reasons.begin()->first,
                  "failed: TLS handshake: certificate verify failed: self-signed certificate")
            << "CA " << ca;
        EXPECT_EQ(reasons.begin()->second, 3u);
    }
}

TEST(FleetTls, WithoutVerificationASelfSignedCertificateIsAccepted) {
    TestServer srv(tls_server());
    Fleet fleet(fleet_options({"", false}), {metrics_group(3)}, {{"127.0.0.1", srv.port(), true}});
    fleet.start();
    EXPECT_TRUE(testing::wait_until([&] { return fleet.connected(0) == 3; }, 10s))
        << fleet.connected(0) << " of 3 connected";
    fleet.stop();
    EXPECT_TRUE(fleet.result({}).groups.at(0).reasons.empty());
}

TEST(FleetTls, AnUnreadableCaFileIsNamed) {
    TestServer srv(tls_server());
    Fleet fleet(fleet_options({kTls + "README.md", true}), {metrics_group(1)},
                {{"127.0.0.1", srv.port(), true}});
    try {
        fleet.start();
        FAIL() << "started with a CA file that holds no certificate";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("README.md"), std::string::npos) << e.what();
    }
}

// One connection allowed: the second client is refused (503) and polls /api/v11/poll/metrics,
// over https:// like its upgrades.
TEST(FleetTls, ARefusedClientPollsOverHttps) {
    auto o = tls_server();
    o.max_connections = 1;
    TestServer srv(o);
    const auto metrics = srv.declare(Endpoint::metrics, "metrics");
    for (std::uint64_t n = 1; n <= 5; ++n) srv.publish_n(metrics, MessageType::metrics, n);
    auto g = metrics_group(2);
    g.reconnect.enabled = true;
    g.polling_fallback = true;
    g.poll_interval = 20ms;
    Fleet fleet(fleet_options({kTls + "cert.pem", true}), {g}, {{"127.0.0.1", srv.port(), true}});
    fleet.start();
    EXPECT_TRUE(testing::wait_until([&] { return fleet.totals().at(0).polled > 0; }, 10s))
        << "nothing polled";
    fleet.stop();
    const auto r = fleet.result({}).groups.at(0);
    EXPECT_GE(r.refused, 1u);
    EXPECT_EQ(r.connects, 1u);
}

}  // namespace
}  // namespace streambed::fleet
