// gated_socket.hpp: the layer under Beast's websocket::stream for plain ws:// connections.
//
// A session writes its data frames itself: every frame queued for the connection since the last
// turn goes out in one gathered sendmsg (websocket_session.cpp). Beast still writes its own
// frames — the upgrade response, pongs, keep-alive pings, the close frame — through this layer.
// The gate keeps every frame whole on the wire: a write of Beast's waits while the session's
// gathered write is part-way out, and the session does not start one while Beast's is.
// Included by websocket_session.cpp only (Beast stays in few translation units).
#pragma once

#include <array>
#include <boost/asio/async_result.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace streambed::engine {

class GatedSocket {
  public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;

    explicit GatedSocket(socket_type socket)
        : socket_(std::move(socket)), gate_(std::make_shared<Gate>()) {}

    executor_type get_executor() { return socket_.get_executor(); }
    socket_type& next_layer() { return socket_; }
    const socket_type& next_layer() const { return socket_; }

    // ---- the session's side --------------------------------------------------------------
    // True when no write of Beast's is under way: the session may write now.
    bool session_may_write() const { return gate_->beast_writes == 0; }
    // Where the gate's state lives, to fetch ahead of session_may_write().
    const void* gate_address() const { return gate_.get(); }
    // The session's write is part-way out: Beast's writes wait until release().
    void hold() { gate_->held = true; }
    // Starts the write of Beast's that waited, if any.
    void release() {
        gate_->held = false;
        if (auto waiting = std::move(gate_->waiting)) waiting();
    }
    // Called after the last of Beast's writes under way completes (the session may write again).
    void on_beast_idle(std::function<void()> f) { gate_->on_idle = std::move(f); }

    // ---- Beast's side (AsyncReadStream, AsyncWriteStream) -----------------------------------
    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return socket_.async_read_some(buffers, std::forward<Token>(token));
    }

    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                auto start = [&socket = socket_, gate = gate_, b,
                              h = std::move(handler)]() mutable {
                    ++gate->beast_writes;
                    socket.async_write_some(b,
                                            [gate, h = std::move(h)](boost::system::error_code ec,
                                                                     std::size_t n) mutable {
                                                --gate->beast_writes;
                                                std::move(h)(ec, n);
                                                if (gate->beast_writes == 0 && gate->on_idle)
                                                    gate->on_idle();
                                            });
                };
                // Beast writes one frame at a time, so at most one of its writes ever waits.
                if (gate_->held)
                    gate_->waiting = MoveOnly(std::move(start));
                else
                    start();
            },
            token, buffers);
    }

  private:
    // A move-only callable (Asio handlers are move-only; std::function needs copies).
    class MoveOnly {
      public:
        MoveOnly() = default;
        template <class F>
        explicit MoveOnly(F f) : impl_(std::make_unique<Impl<F>>(std::move(f))) {}
        explicit operator bool() const { return impl_ != nullptr; }
        void operator()() { impl_->run(); }

      private:
        struct Base {
            virtual ~Base() = default;
            virtual void run() = 0;
        };
        template <class F>
        struct Impl final : Base {
            explicit Impl(F fn) : f(std::move(fn)) {}
            void run() override { f(); }
            F f;
        };
        std::unique_ptr<Base> impl_;
    };

    // Shared with the completion handlers of Beast's writes, which may outlive the socket.
    struct Gate {
        int beast_writes = 0;
        bool held = false;
        MoveOnly waiting;
        std::function<void()> on_idle;
    };

    socket_type socket_;
    std::shared_ptr<Gate> gate_;
};

// Closing: the synchronous form is Beast's own (found by argument-dependent lookup).
inline void teardown(boost::beast::role_type role, GatedSocket& s, boost::system::error_code& ec) {
    boost::beast::websocket::teardown(role, s.next_layer(), ec);
}

// The asynchronous form drains what the peer still sends until its end of stream, then closes.
// Beast 1.81's own closes after the first chunk it drains (it tests the coroutine's
// bytes_transferred, not read_some's), so a client still sending — the rest of a message over
// the inbound limit, say — got a reset instead of the 1009 close frame. The drain is bounded;
// in time by the closing handshake's timeout (Beast closes the socket, and the read ends).
template <class Handler>
auto async_teardown(boost::beast::role_type role, GatedSocket& s, Handler&& handler) {
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
