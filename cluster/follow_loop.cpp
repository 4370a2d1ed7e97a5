// follow_loop.cpp: read, hand over, read again — on the io_context's thread; PING when quiet.
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
                       std::chrono::milliseconds quiet, OnReply on_reply, OnEnd on_end)
    : ioc_(ioc),
      redis_(std::move(redis)),
      socket_(ioc),
      timer_(ioc),
      quiet_(quiet),
      on_reply_(std::move(on_reply)),
      on_end_(std::move(on_end)) {}

void FollowLoop::start() {
    asio::post(ioc_, [self = shared_from_this()] {
        if (!self->redis_->set_nonblocking()) return self->finish(self->redis_->error());
        boost::system::error_code ec;
        self->socket_.assign(self->redis_->fd(), ec);
        if (ec) return self->finish("cannot watch the Redis connection: " + ec.message());
        self->write();
        self->read();
        self->tick();
    });
}

void FollowLoop::stop() {
    asio::post(ioc_, [self = shared_from_this()] { self->finish(""); });
}

void FollowLoop::write() {
    if (ended_ || writing_) return;
    switch (redis_->flush()) {
        case Io::failed:
            return finish(redis_->error());
        case Io::again:
            writing_ = true;
            return socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                                      [self = shared_from_this()](boost::system::error_code ec) {
                                          self->writing_ = false;
                                          if (self->ended_) return;
                                          if (ec) return self->finish(ec);
                                          self->write();
                                      });
        case Io::done:
            return;
    }
}

void FollowLoop::read() {
    // Every whole reply the bytes read so far hold, then the socket again.
    for (Reply reply; !ended_;) {
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
        heard_ = true;
        pinged_ = false;
        if (is_error(*reply)) {
            const auto text = text_of(*reply);
            return finish(text.empty() ? "an error reply from Redis" : std::string(text));
        }
        on_reply_(*reply);
    }
}

void FollowLoop::tick() {
    timer_.expires_after(quiet_);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->ended_) return;
        if (self->heard_) {
            self->heard_ = false;
        } else if (self->pinged_) {
            return self->finish(fmt::format("{}: no reply to PING within {} ms",
                                            self->redis_->address().text(), self->quiet_.count()));
        } else {
            self->pinged_ = true;
            if (!self->redis_->append({"PING"})) return self->finish(self->redis_->error());
            self->write();
        }
        self->tick();
    });
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
