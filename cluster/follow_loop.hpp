// follow_loop.hpp: one Redis connection's reads driven by an io_context instead of a blocked
// thread. It writes a command (the follower's XREAD BLOCK), waits for the socket among the I/O
// thread's other work, hands the reply over on that thread, and sends the next, until the first
// failure — the connection's, a Redis error reply, no reply within the deadline — or stop().
// It says how it ended once (on_end: "" when stopped, else why).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/redis_connection.hpp"

namespace streambed::cluster {

class FollowLoop : public std::enable_shared_from_this<FollowLoop> {
  public:
    using NextCommand = std::function<std::vector<std::string>()>;
    using OnReply = std::function<void(const redisReply& reply)>;
    using OnEnd = std::function<void(const std::string& error)>;

    // `deadline`: the longest a command may wait for its reply (a blocking read's block time
    // and the command timeout). The callbacks run on `ioc`'s thread.
    FollowLoop(boost::asio::io_context& ioc, std::unique_ptr<RedisConnection> redis,
               std::chrono::milliseconds deadline, NextCommand next, OnReply on_reply,
               OnEnd on_end);

    void start();  // any thread
    void stop();   // any thread; ends the loop with on_end("") unless it has ended

  private:
    void send();
    void write();
    void read();
    void finish(std::string error);
    void finish(boost::system::error_code ec);

    boost::asio::io_context& ioc_;
    std::unique_ptr<RedisConnection> redis_;
    // redis_'s socket, watched only: released (never closed) before redis_ closes it.
    boost::asio::posix::stream_descriptor socket_;
    boost::asio::steady_timer timer_;
    // Reads go through Asio (a speculative read, then the reactor; no epoll_ctl per wait) and
    // their bytes to hiredis's reader. 16 KiB: hiredis's own read size.
    std::array<char, 16 * 1024> buffer_;
    const std::chrono::milliseconds deadline_;
    NextCommand next_;
    OnReply on_reply_;
    OnEnd on_end_;
    bool ended_ = false;
};

}  // namespace streambed::cluster
