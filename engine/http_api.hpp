// http_api.hpp: the HTTP routes served beside the WebSocket endpoints — health, Prometheus
// metrics, connection stats and the polling fallback. Beast-free: a request is a method and a
// target, a response is a status, a content type and a body.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/server_context.hpp"

namespace streambed::engine {

struct ApiResponse {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// `authorization`: the request's Authorization header ("" when none); with --auth-token, every
// /api/ route needs the token (that header or ?token=), else 401.
ApiResponse handle_api_request(ServerContext& ctx, std::string_view method, std::string_view target,
                               std::string_view authorization = {});

// The polling fallback, exposed for tests: GET /api/v11/poll/{endpoint}?channels=..&since=..
ApiResponse poll(const Hub& hub, std::string_view endpoint, std::string_view query);

}  // namespace streambed::engine
