// follow_loop.cpp: write, wait, read, hand over, again — on the io_context's thread.
#include "cluster/follow_loop.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

namespace streambed::cluster {

namespace asio = boost::asio;
using Io = RedisConnection::Io;

FollowLoop::FollowLoop(asio::io_context& ioc, std::unique_ptr<RedisConnection> redis,
                       std::chrono::milliseconds deadline, NextCommand next, OnReply on_reply,
                       OnEnd on_end)
    : ioc_(ioc),
      redis_(std::move(redis)),
      socket_(ioc),
      timer_(ioc),
      deadline_(deadline),
      next_(std::move(next)),
      on_reply_(std::move(on_reply)),
      on_end_(std::move(on_end)) {}

void FollowLoop::start() {
    asio::post(ioc_, [self = shared_from_this()] {
        if (!self->redis_->set_nonblocking()) return self->finish(self->redis_->error());
        boost::system::error_code ec;
        self->socket_.assign(self->redis_->fd(), ec);
        if (ec) return self->finish("cannot watch the Redis connection: " + ec.message());
        self->send();
    });
}

void FollowLoop::stop() {
    asio::post(ioc_, [self = shared_from_this()] { self->finish(""); });
}

void FollowLoop::send() {
    if (ended_) return;
    if (!redis_->append(next_())) return finish(redis_->error());
    timer_.expires_after(deadline_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec)
            self->finish(fmt::format("no reply from Redis within {} ms", self->deadline_.count()));
    });
    write();
}

void FollowLoop::write() {
    switch (redis_->flush()) {
        case Io::failed:
            return finish(redis_->error());
        case Io::again:
            return socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                                      [self = shared_from_this()](boost::system::error_code ec) {
                                          if (self->ended_) return;
                                          if (ec) return self->finish(ec);
                                          self->write();
                                      });
        case Io::done:
            return read();
    }
}

void FollowLoop::read() {
    Reply reply;
    switch (redis_->take(reply)) {
        case Io::failed:
            return finish(redis_->error());
        case Io::again:
            return socket_.async_read_some(
                asio::buffer(buffer_),
                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                    if (self->ended_) return;
                    if (ec) return self->finish(ec);
                    if (!self->redis_->feed(self->buffer_.data(), n))
                        return self->finish(self->redis_->error());
                    self->read();
                });
        case Io::done:
            break;
    }
    timer_.cancel();
    if (is_error(*reply)) {
        const auto text = text_of(*reply);
        return finish(text.empty() ? "an error reply from Redis" : std::string(text));
    }
    on_reply_(*reply);
    // Posted, not called: the deliveries the reply caused on this thread were posted first, and
    // a reply that is already waiting does not deepen the stack.
    asio::post(ioc_, [self = shared_from_this()] { self->send(); });
}

void FollowLoop::finish(boost::system::error_code ec) {
    finish(fmt::format("{}: {}", redis_->address().text(),
                       ec == asio::error::eof ? "Redis closed the connection" : ec.message()));
}

void FollowLoop::finish(std::string error) {
    if (ended_) return;
    ended_ = true;
    timer_.cancel();
    if (socket_.is_open()) socket_.release();  // cancels its waits; redis_ closes the socket
    redis_.reset();
    on_end_(error);
}

}  // namespace streambed::cluster
