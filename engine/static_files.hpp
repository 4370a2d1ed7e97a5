// static_files.hpp: the dashboard's built files (portal/, `make build` → build/dashboard/),
// served from one folder at `/` beside the API: content types, caching (content-hashed bundles
// immutable, the page itself revalidated), and nothing outside the folder, whatever the path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "engine/http_api.hpp"

namespace streambed::engine {

// The response for a GET of `path` (percent-decoded, as Boost.URL gives it) under `root`, or
// nullopt when no file of the folder answers it (the caller's 404). Files are read at each
// request, on the I/O thread: a page load is a few requests of a few hundred KB, and a rebuilt
// dashboard is served without a restart. `/` is `index.html`; with no folder, or no index.html
// in it, `/` is a short page saying how to build the dashboard.
std::optional<ApiResponse> serve_static(const std::string& root, std::string_view path);

// The Content-Type of a file name by its extension (application/octet-stream when unknown).
std::string_view content_type_of(std::string_view name);

}  // namespace streambed::engine
