// http_session.hpp: one accepted TCP connection before (or instead of) a WebSocket: reads HTTP
// requests, serves the API, and hands upgrades to a WebSocket session or refuses them.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "engine/server_context.hpp"

namespace streambed::engine {

void start_http_session(ServerContext& ctx, Shard& shard, boost::asio::ip::tcp::socket socket);

}  // namespace streambed::engine
