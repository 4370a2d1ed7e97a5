// draining_socket.hpp: the layer under Beast's websocket::stream for ws:// connections that
// negotiated permessage-deflate (the others use frames of our own: plain_session.cpp). It passes
// reads and writes through and gives Beast a closing that drains what the peer still sends.
// Included by beast_session.cpp only (Beast stays in few translation units).
#pragma once

#include <array>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <memory>
#include <utility>

namespace streambed::engine {

class DrainingSocket {
  public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;

    explicit DrainingSocket(socket_type socket) : socket_(std::move(socket)) {}

    executor_type get_executor() { return socket_.get_executor(); }
    socket_type& next_layer() { return socket_; }
    const socket_type& next_layer() const { return socket_; }

    // AsyncReadStream, AsyncWriteStream
    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return socket_.async_read_some(buffers, std::forward<Token>(token));
    }
    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return socket_.async_write_some(buffers, std::forward<Token>(token));
    }

  private:
    socket_type socket_;
};

// Closing: the synchronous form is Beast's own (found by argument-dependent lookup).
inline void teardown(boost::beast::role_type role, DrainingSocket& s,
                     boost::system::error_code& ec) {
    boost::beast::websocket::teardown(role, s.next_layer(), ec);
}

// The asynchronous form drains what the peer still sends until its end of stream, then closes.
// Beast 1.81's own closes after the first chunk it drains (it tests the coroutine's
// bytes_transferred, not read_some's), so a client still sending — the rest of a message over
// the inbound limit, say — got a reset instead of the 1009 close frame. The drain is bounded;
// in time by the closing handshake's timeout (Beast closes the socket, and the read ends).
template <class Handler>
auto async_teardown(boost::beast::role_type role, DrainingSocket& s, Handler&& handler) {
    namespace asio = boost::asio;
    // Enough to swallow the rest of a refused message many times the default inbound limit.
    constexpr std::size_t kDrainLimit = std::size_t{4} << 20;
    auto& sock = s.next_layer();
    return asio::async_compose<Handler, void(boost::system::error_code)>(
        [&sock, role, buf = std::make_unique<std::array<char, 2048>>(), drained = std::size_t{0},
         started = false](auto& self, boost::system::error_code ec = {},
                          std::size_t n = 0) mutable {
            if (!started) {
                started = true;
                boost::system::error_code ignored;
                if (role == boost::beast::role_type::server)
                    sock.shutdown(asio::socket_base::shutdown_send, ignored);
                return sock.async_read_some(asio::buffer(*buf), std::move(self));
            }
            drained += n;
            if (!ec && drained < kDrainLimit)
                return sock.async_read_some(asio::buffer(*buf), std::move(self));
            if (ec == asio::error::eof) ec = {};
            boost::system::error_code ignored;
            if (role == boost::beast::role_type::client)
                sock.shutdown(asio::socket_base::shutdown_send, ignored);
            sock.close(ignored);
            self.complete(ec);
        },
        handler, sock);
}

}  // namespace streambed::engine
