// follow_loop.hpp: a subscribed Redis connection read by an io_context instead of a blocked
// thread. It writes what is queued on the connection, then hands every reply that arrives (the
// subscription's messages) over on the I/O thread, among that thread's other work. While the
// connection is quiet it asks PING; it ends at the first failure — the connection's, a Redis
// error reply, nothing heard within two quiet periods — or at stop(), and says how once
// (on_end: "" when stopped, else why).
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "cluster/redis_connection.hpp"

namespace streambed::cluster {

class FollowLoop : public std::enable_shared_from_this<FollowLoop> {
  public:
    using OnReply = std::function<void(const redisReply& reply)>;
    using OnEnd = std::function<void(const std::string& error)>;

    // `quiet`: after this long without a reply it sends PING; after twice, it ends. The
    // callbacks run on `ioc`'s thread.
    FollowLoop(boost::asio::io_context& ioc, std::unique_ptr<RedisConnection> redis,
               std::chrono::milliseconds quiet, OnReply on_reply, OnEnd on_end);

    void start();  // any thread
    void stop();   // any thread; ends the loop with on_end("") unless it has ended

  private:
    void write();
    void read();
    void tick();
    void finish(std::string error);
    void finish(boost::system::error_code ec);

    boost::asio::io_context& ioc_;
    std::unique_ptr<RedisConnection> redis_;
    // redis_'s socket, watched only: released (never closed) before redis_ closes it.
    boost::asio::posix::stream_descriptor socket_;
    boost::asio::steady_timer timer_;
    const std::chrono::milliseconds quiet_;
    bool heard_ = false;    // a reply since the last tick
    bool pinged_ = false;   // a PING went out at the last tick and nothing came since
    bool writing_ = false;  // waiting for the socket to take the rest of a command
    // Reads go through Asio (a speculative read, then the reactor: no epoll_ctl per read) and
    // their bytes to hiredis's reader. 16 KiB: hiredis's own read size.
    std::array<char, 16 * 1024> buffer_;
    OnReply on_reply_;
    OnEnd on_end_;
    bool ended_ = false;
};

}  // namespace streambed::cluster
