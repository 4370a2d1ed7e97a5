// listener.hpp: accepts TCP connections and spreads them over the shards, round-robin.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

#include "engine/server_context.hpp"

namespace streambed::engine {

class Listener : public std::enable_shared_from_this<Listener> {
  public:
    // Binds and listens at once, so that a bad address or a taken port fails here, clearly.
    Listener(ServerContext& ctx, boost::asio::io_context& ioc,
             const boost::asio::ip::tcp::endpoint& at);
    boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    void run();
    void stop();  // thread-safe

  private:
    void do_accept();

    ServerContext& ctx_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_;
    std::size_t next_ = 0;
};

}  // namespace streambed::engine
