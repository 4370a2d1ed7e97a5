// websocket_session.hpp: starts one protocol session on an upgraded connection. The protocol
// side (welcome, subscriptions, outbound queue) is session.cpp; a ws:// connection's frames are
// our own (plain_session.cpp), a compressed one's Beast's (beast_session.cpp); a wss:// one
// starts in beast_session.hpp.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "engine/catalog.hpp"
#include "engine/server_context.hpp"

namespace streambed::engine {

struct SessionParams {
    Endpoint endpoint;
    bool batch = false;  // ?batch=1: frames may carry a JSON array of messages
};

// Takes over the connection (already on `shard`'s io_context) and answers the upgrade `request`.
void start_websocket_session(ServerContext& ctx, Shard& shard, boost::asio::ip::tcp::socket socket,
                             boost::beast::http::request<boost::beast::http::string_body> request,
                             SessionParams params);

}  // namespace streambed::engine
