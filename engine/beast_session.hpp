// beast_session.hpp: starts a session whose frames Beast's websocket::stream carries. wss://
// connections always take it (http_session.cpp); a ws:// one only when it negotiates
// permessage-deflate (plain_session.cpp decides).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "engine/server_context.hpp"
#include "engine/transport.hpp"
#include "engine/websocket_session.hpp"

namespace streambed::engine {

void start_beast_session(ServerContext& ctx, Shard& shard, Transport transport,
                         boost::beast::http::request<boost::beast::http::string_body> request,
                         SessionParams params);

}  // namespace streambed::engine
