// bench_tls_test.cpp: `streambed bench` against a staging-like `serve` child — TLS with a
// self-signed certificate, an auth token and an allowed origin. With --ca (or --insecure),
// --token and --origin every client is served and the run reports what it delivered; a missing
// origin or an untrusted certificate fails every client with the reason, exit 1.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/app/cli_child.hpp"
#include "tests/support/child_process.hpp"

namespace streambed::testing {
namespace {

using namespace std::chrono_literals;

const std::string kCert = std::string(STREAMBED_FIXTURES) + "/tls/cert.pem";
const std::string kKey = std::string(STREAMBED_FIXTURES) + "/tls/key.pem";
const std::string kToken = "s3cret";
const std::string kOrigin = "https://portal.example";

// The staging-like server: TLS, a token, one allowed origin; metrics every 100 ms (time scale 20).
struct StagingServer {
    StagingServer()
        : child({"serve", "--port", "0", "--time-scale", "20", "--tls-cert", kCert, "--tls-key",
                 kKey, "--auth-token", kToken, "--allow-origin", kOrigin}) {
        auto line = child.next_line(20s);
        if (!line || line->rfind("listening on https://", 0) != 0)
            throw std::runtime_error("no https listening line; stderr: " + child.err());
        port = line->substr(line->rfind(':') + 1);
    }
    std::string target() const { return "wss://127.0.0.1:" + port + "/ws/metrics"; }
    Child child;
    std::string port;
};

std::vector<std::string> bench_args(const StagingServer& s, std::vector<std::string> more) {
    std::vector<std::string> args{"bench", "--target",   s.target(), "--clients",
                                  "4",     "--duration", "1s"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

TEST(BenchTls, AgainstTlsTokenAndOriginEveryClientIsServed) {
    StagingServer srv;
    Child bench(bench_args(srv, {"--ca", kCert, "--token", kToken, "--origin", kOrigin,
                                 "--target-pid", std::to_string(srv.child.pid()), "--json"}));
    ASSERT_EQ(describe(bench.wait_exit(60s)), "exit 0") << bench.out() << bench.err();
    const auto j = nlohmann::json::parse(bench.out());
    EXPECT_EQ(j["endpoint"], "/ws/metrics");
    EXPECT_EQ(j["connected"], 4);
    EXPECT_EQ(j["failed"], 0);
    // A metrics message every 100 ms for a second: about ten per client.
    EXPECT_GE(j["messages"].get<int>(), 4 * 5) << bench.out();
    EXPECT_EQ(j["gaps"], 0);
    EXPECT_EQ(j["dropped"], 0);
    EXPECT_EQ(bench.err(), "");
}

TEST(BenchTls, InsecureAcceptsTheSelfSignedCertificate) {
    StagingServer srv;
    Child bench(bench_args(srv, {"--insecure", "--token", kToken, "--origin", kOrigin}));
    ASSERT_EQ(describe(bench.wait_exit(60s)), "exit 0") << bench.out() << bench.err();
    EXPECT_NE(bench.out().find("4 connected, 0 failed"), std::string::npos) << bench.out();
}

TEST(BenchTls, AnUntrustedCertificateOrAMissingOriginFailsWithTheReason) {
    StagingServer srv;
    {
        Child bench(
            bench_args(srv, {"--token", kToken, "--origin", kOrigin}));  // the system's store only
        EXPECT_EQ(describe(bench.wait_exit(60s)), "exit 1") << bench.err();
        EXPECT_NE(
            bench.err().find("4 connection(s) failed: TLS handshake: certificate verify failed"),
            std::string::npos)
            << bench.err();
    }
    {
        Child bench(bench_args(srv, {"--ca", kCert, "--token", kToken}));
        EXPECT_EQ(describe(bench.wait_exit(60s)), "exit 1") << bench.err();
        EXPECT_NE(bench.err().find("4 connection(s) failed: upgrade refused: HTTP/1.1 403"),
                  std::string::npos)
            << bench.err();
    }
}

}  // namespace
}  // namespace streambed::testing
