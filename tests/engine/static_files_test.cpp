// static_files_test.cpp: the dashboard's files over real HTTP — content types, caching, the
// placeholder page, the token rule (the page stays open), and no way out of the folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/static_files.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_client.hpp"

namespace streambed::testing {
namespace fs = std::filesystem;

namespace {

void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

// A folder as build.mjs leaves it, beside a secret that must never be served.
struct WebRoot {
    WebRoot() {
        base = fs::temp_directory_path() /
               ("streambed-static-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(base);
        write(base / "secret.txt", "SECRET");
        write(base / "www/index.html", "<!doctype html><title>dashboard</title>");
        write(base / "www/assets/main-AB12CD34.js", "console.log(1)");
        write(base / "www/assets/main-AB12CD34.css", "body{}");
        write(base / "www/assets/notes.txt", "plain");
        fs::create_directory_symlink(base, base / "www/out");  // points out of the folder
    }
    ~WebRoot() { fs::remove_all(base); }
    fs::path base;
};

engine::ServerOptions with_root(const fs::path& root, std::string token = {}) {
    auto o = test_options();
    o.web_root = root.string();
    o.auth_token = std::move(token);
    return o;
}

TEST(StaticFiles, IndexAndBundlesWithTypesAndCaching) {
    WebRoot dir;
    TestServer srv(with_root(dir.base / "www"));
    auto index = http_get(srv.port(), "/");
    EXPECT_EQ(index.status, 200);
    EXPECT_EQ(index.body, "<!doctype html><title>dashboard</title>");
    EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
    EXPECT_EQ(index.headers["cache-control"], "no-cache");
    EXPECT_EQ(http_get(srv.port(), "/index.html").body, index.body);

    auto js = http_get(srv.port(), "/assets/main-AB12CD34.js");
    EXPECT_EQ(js.status, 200);
    EXPECT_EQ(js.body, "console.log(1)");
    EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
    EXPECT_EQ(js.headers["cache-control"], "public, max-age=31536000, immutable");
    EXPECT_EQ(js.headers["x-content-type-options"], "nosniff");
    auto css = http_get(srv.port(), "/assets/main-AB12CD34.css");
    EXPECT_EQ(css.headers["content-type"], "text/css; charset=utf-8");
    EXPECT_EQ(css.headers["cache-control"], "public, max-age=31536000, immutable");
    // A name without a content hash may change under the same name: revalidated.
    auto txt = http_get(srv.port(), "/assets/notes.txt");
    EXPECT_EQ(txt.headers["content-type"], "text/plain; charset=utf-8");
    EXPECT_EQ(txt.headers["cache-control"], "no-cache");

    auto missing = http_get(srv.port(), "/assets/main-00000000.js");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.body_json()["error"], "not_found");
    EXPECT_EQ(http_get(srv.port(), "/assets").status, 404);  // a folder is not a file
    EXPECT_EQ(http_get(srv.port(), "/assets/").status, 404);
}

TEST(StaticFiles, NothingOutsideTheFolder) {
    WebRoot dir;
    TestServer srv(with_root(dir.base / "www"));
    for (const char* target :
         {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt",
          "/assets/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt", "/assets%2f..%2f..%2fsecret.txt",
          "/assets/..%5c..%5csecret.txt", "/out/secret.txt", "//secret.txt", "/./index.html",
          "/index.html%00.js", "/.hidden"}) {
        SCOPED_TRACE(target);
        auto r = http_get(srv.port(), target);
        EXPECT_NE(r.status, 200);
        EXPECT_EQ(r.body.find("SECRET"), std::string::npos);
    }
}

TEST(StaticFiles, ThePageIsOpenTheApiNeedsTheToken) {
    WebRoot dir;
    TestServer srv(with_root(dir.base / "www", "s3cret"));
    EXPECT_EQ(http_get(srv.port(), "/").status, 200);
    EXPECT_EQ(http_get(srv.port(), "/assets/main-AB12CD34.js").status, 200);
    EXPECT_EQ(http_get(srv.port(), "/api/v11/websocket/stats").status, 401);
    EXPECT_EQ(http_get(srv.port(), "/api/v11/websocket/stats?token=s3cret").status, 200);
}

TEST(StaticFiles, WithoutADashboardThePlaceholderSaysHowToBuildIt) {
    WebRoot dir;
    for (const fs::path& root : {fs::path(), dir.base / "nowhere", dir.base / "www/assets"}) {
        SCOPED_TRACE(root.string());
        TestServer srv(with_root(root));
        auto r = http_get(srv.port(), "/");
        EXPECT_EQ(r.status, 200);
        EXPECT_NE(r.body.find("make build"), std::string::npos);
        EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
        EXPECT_EQ(http_get(srv.port(), "/nope.js").status, 404);
    }
}

TEST(StaticFiles, ContentTypes) {
    EXPECT_EQ(engine::content_type_of("a.svg"), "image/svg+xml");
    EXPECT_EQ(engine::content_type_of("main-AB12CD34.js.map"), "application/json");
    EXPECT_EQ(engine::content_type_of("README"), "application/octet-stream");
}

}  // namespace
}  // namespace streambed::testing
