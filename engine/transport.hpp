// transport.hpp: one stream type for Beast over a connection, plain TCP or TLS alike — the layer
// under the HTTP session and under Beast's websocket::stream. Reads, writes, the TLS handshake
// and the closing go through a virtual call (transport.cpp), so Beast's HTTP and WebSocket
// operations are compiled once for both kinds of connection instead of once per stream type
// (that was 45 of the engine's 72 s of cold compiling; docs/benchmarks.md, "Build time").
#pragma once

#include <array>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <utility>

namespace boost::asio::ssl {
class context;
}

namespace streambed::engine {

class Transport {
  public:
    using executor_type = boost::asio::any_io_executor;
    using error_code = boost::system::error_code;
    using IoHandler = boost::asio::any_completion_handler<void(error_code, std::size_t)>;
    using DoneHandler = boost::asio::any_completion_handler<void(error_code)>;
    // A read or write passes on at most this many of its buffers (a "some" operation may do
    // less than asked; the callers' loops go on from where it stopped): Beast writes a frame or
    // a response in a few. The two arrays cost a connection 256 bytes.
    static constexpr std::size_t kMaxBuffers = 8;

    // What a pending read and write pass on, held by the implementation: its address stays put
    // when the transport moves (one read and one write may be pending at a time, as for any Asio
    // stream).
    struct IoBuffers {
        std::array<boost::asio::mutable_buffer, kMaxBuffers> reads;
        std::array<boost::asio::const_buffer, kMaxBuffers> writes;
    };
    class Impl;  // transport.cpp: one per kind of connection, an IoBuffers

    static Transport plain(boost::asio::ip::tcp::socket socket);
    static Transport tls(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context);

    Transport(Transport&&) noexcept;
    Transport& operator=(Transport&&) noexcept;
    ~Transport();

    bool is_tls() const;
    executor_type get_executor();
    // The TCP stream under it all: its timeouts, its socket. Beast's get_lowest_layer finds it
    // here, so a WebSocket timeout closes it as it closes a bare tcp_stream.
    boost::beast::tcp_stream& next_layer();

    // AsyncReadStream, AsyncWriteStream
    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                read_some(take(buffers_->reads, b), IoHandler(std::move(handler)));
            },
            token, buffers);
    }
    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const Buffers& b) {
                write_some(take(buffers_->writes, b), IoHandler(std::move(handler)));
            },
            token, buffers);
    }

    // TLS's server handshake; a plain connection completes at once.
    template <class Token>
    auto async_handshake(Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) { handshake(DoneHandler(std::move(handler))); }, token);
    }
    // The end of an HTTP connection: TLS's close_notify, or a plain socket's shutdown of sending.
    template <class Token>
    auto async_shutdown(Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) { shutdown(DoneHandler(std::move(handler))); }, token);
    }
    // The end of a WebSocket connection (Beast's teardown, below).
    template <class Token>
    auto async_teardown(boost::beast::role_type role, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this, role](auto handler) { teardown(role, DoneHandler(std::move(handler))); }, token);
    }
    void teardown(boost::beast::role_type role, error_code& ec);

  private:
    explicit Transport(std::unique_ptr<Impl> impl);

    // A buffer sequence's first non-empty buffers, copied to where they outlive the call.
    template <class Buffer, class Buffers>
    static std::span<const Buffer> take(std::array<Buffer, kMaxBuffers>& out, const Buffers& in) {
        std::size_t n = 0;
        for (auto it = boost::asio::buffer_sequence_begin(in),
                  end = boost::asio::buffer_sequence_end(in);
             it != end && n < out.size(); ++it) {
            Buffer b(*it);
            if (b.size() != 0) out[n++] = b;
        }
        return {out.data(), n};
    }

    void read_some(std::span<const boost::asio::mutable_buffer> buffers, IoHandler handler);
    void write_some(std::span<const boost::asio::const_buffer> buffers, IoHandler handler);
    void handshake(DoneHandler handler);
    void shutdown(DoneHandler handler);
    void teardown(boost::beast::role_type role, DoneHandler handler);

    std::unique_ptr<Impl> impl_;
    IoBuffers* buffers_;  // impl_'s, where the .cpp knows Impl is one
};

// Beast's closing customization points, found by argument-dependent lookup.
inline void teardown(boost::beast::role_type role, Transport& transport,
                     boost::system::error_code& ec) {
    transport.teardown(role, ec);
}
template <class Handler>
void async_teardown(boost::beast::role_type role, Transport& transport, Handler&& handler) {
    transport.async_teardown(role, std::forward<Handler>(handler));
}

}  // namespace streambed::engine
