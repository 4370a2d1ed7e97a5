// redaction_test.cpp: the auth token never reaches a recording or an export (issue 11) — the
// recorded upgrade target has its `token=` value redacted (the Authorization header is not
// recorded), so neither the file's bytes nor `export` (JSON lines, HAR) hold the token.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "recorder/reader.hpp"
#include "recorder/recorder.hpp"
#include "tests/support/temp_db.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace {

using engine::Endpoint;

constexpr const char* kToken = "T0pS3cretT0ken";

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(RecordingRedaction, TheTokenIsInNeitherTheFileNorItsExports) {
    TempDb db("redaction");
    const std::string& path = db.path;
    {
        recorder::Recorder rec(path, {"test", 1, "{}"});
        auto o = test_options();
        o.auth_token = kToken;
        TestServer srv(o);
        srv.server().set_tap(&rec);
        srv.declare(Endpoint::metrics, "metrics");
        {
            WsClient a(srv.port(), std::string("/ws/metrics?batch=1&token=") + kToken);
            EXPECT_EQ(a.read_json()["type"], "welcome");
            WsClient b(srv.port(), "/ws/metrics", std::chrono::seconds(5),
                       {{"Authorization", std::string("Bearer ") + kToken}});
            EXPECT_EQ(b.read_json()["type"], "welcome");
            a.close();
            b.close();
        }
        srv.server().shutdown();
        rec.finish();
    }
    const std::string bytes = slurp(path);
    EXPECT_EQ(bytes.find(kToken), std::string::npos) << "the token is in the recording";
    EXPECT_NE(bytes.find("/ws/metrics?batch=1&token=REDACTED"), std::string::npos);
    std::stringstream jsonl, har;
    recorder::export_jsonl(path, std::nullopt, jsonl);
    recorder::export_har(path, std::nullopt, har);
    EXPECT_EQ(jsonl.str().find(kToken), std::string::npos);
    EXPECT_EQ(har.str().find(kToken), std::string::npos);
    EXPECT_NE(har.str().find("token=REDACTED"), std::string::npos) << har.str().substr(0, 400);
}

}  // namespace
}  // namespace streambed::testing
