// server.hpp: the streaming server — listener, I/O threads, hub — behind a small surface that
// needs no Asio or Beast header. A Source publishes into publisher().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/options.hpp"
#include "engine/source.hpp"

namespace streambed::engine {

class Hub;
class Tap;

class Server {
  public:
    explicit Server(ServerOptions options);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    Publisher& publisher();
    Hub& hub();

    // Every frame, session and published message is reported to `tap` (the recorder), which
    // must outlive the server. Set before start().
    void set_tap(Tap* tap);

    // Binds (throws std::runtime_error naming the address on failure), starts the threads and,
    // unless told to wait, accepts connections. A caller that must publish first (a restarted
    // world catching up) starts with accept = false, then calls accept_connections(): clients
    // that connect meanwhile wait in the listen backlog rather than see a world half caught up.
    void start(bool accept = true);
    void accept_connections();
    std::uint16_t port() const;
    std::string url() const;  // http://ADDR:PORT

    // Closes every client with 1001, waits up to drain_timeout for them, stops the threads.
    // Idempotent and thread-safe.
    void shutdown();
    // A crash without the process dying (the scenario runner's in-process server_kill): the
    // threads stop where they are, and the connections close with the server, no close frame,
    // as a killed process's sockets do. Stop the source first. Idempotent; then shutdown() does
    // nothing.
    void abort();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace streambed::engine
