// static_files.cpp: the dashboard's files from --web-root (see static_files.hpp).
#include "engine/static_files.hpp"

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <system_error>
#include <utility>

namespace streambed::engine {
namespace fs = std::filesystem;

namespace {

// Shown at `/` when the server has no dashboard to serve (a build without npm, or --web-root
// naming a folder without index.html): the endpoints, and how to get the page.
constexpr std::string_view kPlaceholderPage =
    R"(<!doctype html><html><head><meta charset="utf-8"><title>streambed</title></head>
<body><h1>streambed</h1><p>The dashboard is not built: run <code>make build</code>, or give
<code>--web-root</code> the folder that holds it.</p><p>WebSocket endpoints: /ws/channels,
/ws/transactions, /ws/validators, /ws/consensus, /ws/network, /ws/metrics. HTTP: /q/health,
/q/metrics, /api/v11/websocket/stats, /api/v11/poll/{endpoint}.</p></body></html>
)";

// A year, and never revalidated: a bundle's name changes with its content.
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
// The page names the current bundles: the browser must ask again every time (a 200 is small).
constexpr std::string_view kRevalidate = "no-cache";

// esbuild's `[name]-[hash]`: eight characters of base32 before the extension.
bool content_hashed(std::string_view name) {
    static const std::regex kHashed(R"(.+-[A-Z0-9]{8}\.[a-z0-9.]+)");
    return std::regex_match(name.begin(), name.end(), kHashed);
}

// The path as folder-relative segments, or nullopt when it could leave the folder or name a
// hidden file: `..`, `.`, empty segments, backslashes, NUL, and names starting with a dot.
std::optional<fs::path> relative_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return std::nullopt;
    fs::path out;
    path.remove_prefix(1);
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto segment = path.substr(0, slash);
        if (segment.empty() || segment.front() == '.' ||
            segment.find_first_of(std::string_view("\\\0", 2)) != std::string_view::npos)
            return std::nullopt;
        out /= std::string(segment);
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
        if (path.empty()) return std::nullopt;  // a trailing slash names a folder
    }
    return out;
}

std::optional<std::string> read_file(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::string_view content_type_of(std::string_view name) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 11> kTypes{{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".map", "application/json"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    }};
    for (const auto& [ext, type] : kTypes)
        if (name.ends_with(ext)) return type;
    return "application/octet-stream";
}

std::optional<ApiResponse> serve_static(const std::string& root, std::string_view path) {
    const bool index = path == "/" || path == "/index.html";
    auto placeholder = [&]() -> std::optional<ApiResponse> {
        if (!index) return std::nullopt;
        return ApiResponse{200,
                           "text/html; charset=utf-8",
                           std::string(kPlaceholderPage),
                           {{"Cache-Control", std::string(kRevalidate)}}};
    };
    if (root.empty()) return placeholder();
    auto rel = relative_path(index ? "/index.html" : path);
    if (!rel) return std::nullopt;

    // Segments are checked above; the canonical form also catches a symbolic link in the
    // folder that points out of it.
    std::error_code ec;
    const fs::path base = fs::canonical(root, ec);
    if (ec) return placeholder();
    const fs::path file = fs::weakly_canonical(base / *rel, ec);
    if (ec) return placeholder();
    const auto [end, _] = std::mismatch(base.begin(), base.end(), file.begin(), file.end());
    if (end != base.end() || !fs::is_regular_file(file, ec)) return placeholder();
    auto body = read_file(file);
    if (!body) return placeholder();

    const std::string name = file.filename().string();
    ApiResponse res{200, std::string(content_type_of(name)), std::move(*body), {}};
    res.headers.emplace_back("Cache-Control",
                             std::string(content_hashed(name) ? kImmutable : kRevalidate));
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return res;
}

}  // namespace streambed::engine
