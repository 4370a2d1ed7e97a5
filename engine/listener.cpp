// listener.cpp: the accept loop.
#include "engine/listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "engine/http_session.hpp"

namespace streambed::engine {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Listener::Listener(ServerContext& ctx, asio::io_context& ioc, const tcp::endpoint& at)
    : ctx_(ctx), acceptor_(ioc), retry_(ioc) {
    acceptor_.open(at.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(at);
    acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Listener::run() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] { self->do_accept(); });
}

void Listener::stop() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
        boost::system::error_code ec;
        self->acceptor_.close(ec);
        self->retry_.cancel();
    });
}

void Listener::do_accept() {
    Shard& shard = *ctx_.shards[next_++ % ctx_.shards.size()];
    acceptor_.async_accept(shard.ioc(), [self = shared_from_this(), &shard](
                                            boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (ec) {
            // Out of file descriptors and the like: wait a little instead of spinning.
            spdlog::warn("accept: {}", ec.message());
            self->retry_.expires_after(std::chrono::milliseconds(50));
            self->retry_.async_wait([self](boost::system::error_code e) {
                if (!e) self->do_accept();
            });
            return;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (auto size = self->ctx_.options.socket_send_buffer)
            socket.set_option(asio::socket_base::send_buffer_size(static_cast<int>(size)), ignored);
        start_http_session(self->ctx_, shard, std::move(socket));
        self->do_accept();
    });
}

}  // namespace streambed::engine
