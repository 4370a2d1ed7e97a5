// beast_session.hpp: starts a session whose frames Beast's websocket::stream carries. wss://
// connections always take it (websocket_session.hpp); a ws:// one only when it negotiates
// permessage-deflate (plain_session.cpp decides).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "engine/server_context.hpp"
#include "engine/websocket_session.hpp"

namespace streambed::engine {

void start_beast_session(ServerContext& ctx, Shard& shard, boost::asio::ip::tcp::socket socket,
                         boost::beast::http::request<boost::beast::http::string_body> request,
                         SessionParams params);

}  // namespace streambed::engine
