// test_server.hpp: an in-process server on port 0 that the test itself feeds: the test thread
// is the source thread, so every published message is under the test's control.
#pragma once

#include <fmt/format.h>

#include <string>

#include "engine/hub.hpp"
#include "engine/server.hpp"

namespace streambed::testing {

inline engine::ServerOptions test_options() {
    engine::ServerOptions o;
    o.port = 0;
    o.threads = 2;
    return o;
}

// A data object carrying `n` and `size` bytes of padding: messages of a chosen size.
inline std::string padded_data(std::uint64_t n, std::size_t size) {
    return fmt::format(R"({{"n":{},"pad":"{}"}})", n, std::string(size, 'x'));
}

class TestServer {
  public:
    explicit TestServer(engine::ServerOptions o = test_options()) : server_(std::move(o)) {
        server_.start();
    }

    std::uint16_t port() const { return server_.port(); }
    engine::Server& server() { return server_; }
    engine::Hub& hub() { return server_.hub(); }

    engine::StreamId declare(engine::Endpoint e, const std::string& channel) {
        return server_.publisher().declare_stream(e, channel);
    }
    engine::MessagePtr publish(engine::StreamId s, engine::MessageType t, std::int64_t time,
                               const std::string& data) {
        return server_.publisher().publish(s, t, time, data);
    }
    // A metrics message whose data carries `n`, for ordering checks.
    engine::MessagePtr publish_n(engine::StreamId s, engine::MessageType t, std::uint64_t n) {
        return publish(s, t, 1762732800000 + static_cast<std::int64_t>(n) * 2000,
                       fmt::format(R"({{"n":{}}})", n));
    }

  private:
    engine::Server server_;
};

}  // namespace streambed::testing
