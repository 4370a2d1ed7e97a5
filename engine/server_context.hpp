// server_context.hpp: what every listener and session of one server shares — options, the hub,
// the shards, the connection count and the draining flag.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/hub.hpp"
#include "engine/metrics.hpp"
#include "engine/options.hpp"
#include "engine/shard.hpp"

namespace boost::asio::ssl {
class context;
}

namespace streambed::engine {

struct ServerContext {
    ServerContext(ServerOptions o, Hub& h) : options(std::move(o)), hub(h) {}

    const ServerOptions options;
    Hub& hub;
    std::vector<std::unique_ptr<Shard>> shards;
    std::atomic<std::size_t> websocket_connections{0};
    std::atomic<bool> draining{false};
    // Told when the last WebSocket connection ends while draining: shutdown() waits on it.
    std::mutex drained_mu;
    std::condition_variable drained_cv;
    std::string instance;  // random per process: makes session ids unique across restarts
    std::shared_ptr<boost::asio::ssl::context> tls;
    Tap* tap = nullptr;                             // the recorder, when recording
    std::atomic<std::uint64_t> next_session_id{1};  // set when a certificate and key are given

    // A WebSocket connection ended (any thread).
    void connection_ended() {
        if (websocket_connections.fetch_sub(1) == 1 && draining.load()) {
            std::lock_guard lock(drained_mu);
            drained_cv.notify_all();
        }
    }

    MetricsSnapshot snapshot() const {
        MetricsSnapshot m;
        for (auto& s : shards) m.add(s->counters());
        m.published = hub.published();
        for (auto e : kEndpoints) m.add(e, hub.due_lateness(e));
        return m;
    }
};

}  // namespace streambed::engine
