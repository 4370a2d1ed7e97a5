// transport.cpp: the two kinds of connection behind Transport — a TCP stream, and TLS over one —
// each with its handshake, its end of an HTTP connection, and its WebSocket closing.
#include "engine/transport.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace streambed::engine {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using MutableBuffers = std::span<const asio::mutable_buffer>;
using ConstBuffers = std::span<const asio::const_buffer>;

class Transport::Impl : public Transport::IoBuffers {
  public:
    virtual ~Impl() = default;
    virtual bool is_tls() const = 0;
    virtual beast::tcp_stream& tcp() = 0;
    virtual void read_some(MutableBuffers buffers, IoHandler handler) = 0;
    virtual void write_some(ConstBuffers buffers, IoHandler handler) = 0;
    virtual void handshake(DoneHandler handler) = 0;
    virtual void shutdown(DoneHandler handler) = 0;
    virtual void teardown(beast::role_type role, error_code& ec) = 0;
    virtual void teardown(beast::role_type role, DoneHandler handler) = 0;
};

namespace {

// Asio 1.81's any_completion_handler reports an executor that cannot be asked for
// blocking.never, which Asio's and Beast's operations ask of their handler's executor before
// posting (fixed in 1.82). Every handler here runs on the connection's executor anyway: bound
// to it, the handler reports it.
template <class Handler>
auto on(beast::tcp_stream& stream, Handler handler) {
    return asio::bind_executor(stream.get_executor(), std::move(handler));
}

// The closing of a connection drains what the peer still sends until its end of stream, then
// closes. Beast 1.81's own closes after the first chunk it drains (it tests the coroutine's
// bytes_transferred, not read_some's), and over TLS it drains nothing, so a client still
// sending — the rest of a message over the inbound limit, say — got a reset instead of the 1009
// close frame. The drain is bounded; in time by the closing handshake's timeout (Beast closes
// the socket, and the read ends), in size by this: enough to swallow the rest of a refused
// message many times the default inbound limit.
constexpr std::size_t kDrainLimit = std::size_t{4} << 20;
using DrainBuffer = std::array<char, 2048>;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Stream: the TCP socket, or the TLS stream (whose reads end at the peer's close_notify, and
// which sends its own before the socket closes).
template <class Stream, class Handler>
void drain_and_close(beast::role_type role, Stream& stream, Handler handler) {
    constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
    enum class Step { start, draining, closing };
    asio::async_compose<Handler, void(error_code)>(
        [&stream, role, step = Step::start, buf = std::make_unique<DrainBuffer>(),
         drained = std::size_t{0},
         ended = error_code()](auto& self, error_code ec = {}, std::size_t n = 0) mutable {
            tcp::socket& socket = beast::get_lowest_layer(stream).socket();
            error_code ignored;
            switch (step) {
                case Step::start:
                    step = Step::draining;
                    if (!kTls && role == beast::role_type::server)
                        socket.shutdown(asio::socket_base::shutdown_send, ignored);
                    return stream.async_read_some(asio::buffer(*buf), std::move(self));
                case Step::draining:
                    drained += n;
                    if (!ec && drained < kDrainLimit)
                        return stream.async_read_some(asio::buffer(*buf), std::move(self));
                    // The peer's end (eof; over TLS its close_notify, or its end without one).
                    if (ec != asio::error::eof && ec != asio::ssl::error::stream_truncated)
                        ended = ec;
                    step = Step::closing;
                    if constexpr (kTls) return stream.async_shutdown(std::move(self));
                    break;
                case Step::closing:
                    break;
            }
            if (!kTls && role == beast::role_type::client)
                socket.shutdown(asio::socket_base::shutdown_send, ignored);
            socket.close(ignored);
            self.complete(ended);
        },
        handler, stream);
}

class PlainTransport final : public Transport::Impl {
  public:
    explicit PlainTransport(tcp::socket socket) : stream_(std::move(socket)) {}

    bool is_tls() const override { return false; }
    beast::tcp_stream& tcp() override { return stream_; }
    void read_some(MutableBuffers buffers, Transport::IoHandler handler) override {
        stream_.async_read_some(buffers, on(stream_, std::move(handler)));
    }
    void write_some(ConstBuffers buffers, Transport::IoHandler handler) override {
        stream_.async_write_some(buffers, on(stream_, std::move(handler)));
    }
    void handshake(Transport::DoneHandler handler) override { complete(std::move(handler), {}); }
    void shutdown(Transport::DoneHandler handler) override {
        error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        complete(std::move(handler), ec);
    }
    void teardown(beast::role_type role, error_code& ec) override {
        beast::websocket::teardown(role, stream_.socket(), ec);
    }
    void teardown(beast::role_type role, Transport::DoneHandler handler) override {
        drain_and_close(role, stream_, on(stream_, std::move(handler)));
    }

  private:
    void complete(Transport::DoneHandler handler, error_code ec) {
        asio::post(on(stream_, asio::append(std::move(handler), ec)));
    }

    beast::tcp_stream stream_;
};

class TlsTransport final : public Transport::Impl {
  public:
    TlsTransport(tcp::socket socket, asio::ssl::context& context)
        : stream_(std::move(socket), context) {}

    bool is_tls() const override { return true; }
    beast::tcp_stream& tcp() override { return stream_.next_layer(); }
    void read_some(MutableBuffers buffers, Transport::IoHandler handler) override {
        stream_.async_read_some(buffers, on(tcp(), std::move(handler)));
    }
    void write_some(ConstBuffers buffers, Transport::IoHandler handler) override {
        stream_.async_write_some(buffers, on(tcp(), std::move(handler)));
    }
    void handshake(Transport::DoneHandler handler) override {
        stream_.async_handshake(asio::ssl::stream_base::server, on(tcp(), std::move(handler)));
    }
    void shutdown(Transport::DoneHandler handler) override {
        stream_.async_shutdown(on(tcp(), std::move(handler)));
    }
    // Beast's own for TLS (close_notify, then the TCP stream's closing); the asynchronous one
    // drains first.
    void teardown(beast::role_type role, error_code& ec) override {
        using beast::websocket::teardown;
        teardown(role, stream_, ec);
    }
    void teardown(beast::role_type role, Transport::DoneHandler handler) override {
        drain_and_close(role, stream_, on(tcp(), std::move(handler)));
    }

  private:
    TlsStream stream_;
};

}  // namespace

Transport::Transport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)), buffers_(impl_.get()) {}
Transport::Transport(Transport&&) noexcept = default;
Transport& Transport::operator=(Transport&&) noexcept = default;
Transport::~Transport() = default;

Transport Transport::plain(tcp::socket socket) {
    return Transport(std::make_unique<PlainTransport>(std::move(socket)));
}

Transport Transport::tls(tcp::socket socket, asio::ssl::context& context) {
    return Transport(std::make_unique<TlsTransport>(std::move(socket), context));
}

bool Transport::is_tls() const {
    return impl_->is_tls();
}
Transport::executor_type Transport::get_executor() {
    return impl_->tcp().get_executor();
}
beast::tcp_stream& Transport::next_layer() {
    return impl_->tcp();
}

void Transport::read_some(MutableBuffers buffers, IoHandler handler) {
    impl_->read_some(buffers, std::move(handler));
}
void Transport::write_some(ConstBuffers buffers, IoHandler handler) {
    impl_->write_some(buffers, std::move(handler));
}
void Transport::handshake(DoneHandler handler) {
    impl_->handshake(std::move(handler));
}
void Transport::shutdown(DoneHandler handler) {
    impl_->shutdown(std::move(handler));
}
void Transport::teardown(beast::role_type role, error_code& ec) {
    impl_->teardown(role, ec);
}
void Transport::teardown(beast::role_type role, DoneHandler handler) {
    impl_->teardown(role, std::move(handler));
}

}  // namespace streambed::engine
