// loopback.hpp: a blocking TCP connection to 127.0.0.1 with send and receive timeouts, for the
// runner's short requests to its own children (a node's /q/health, redis-server's PING).
#pragma once

#include <chrono>
#include <cstdint>

namespace streambed::runner {

// A connected socket (close it), or -1 when 127.0.0.1:port did not accept. Every send and
// receive on it gives up after `timeout`.
int connect_loopback(std::uint16_t port, std::chrono::microseconds timeout);

}  // namespace streambed::runner
