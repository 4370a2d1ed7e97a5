// options.hpp: every tunable of the engine, each default next to its reason.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace streambed::engine {

struct ServerOptions {
    std::string bind = "127.0.0.1";  // the spec's default: local only unless asked
    std::uint16_t port = 9003;       // the spec's default; 0 picks a free port
    unsigned threads = 0;            // 0: one I/O thread per core

    // 0 means no limit. The portal targets 1,000+; beyond the limit the upgrade gets 503.
    std::size_t max_connections = 0;
    // The spec's default outbound bound per connection: about 8 s of every stream at full rate.
    std::size_t outbound_limit_bytes = 1 << 20;
    // SO_SNDBUF of accepted sockets; 0 keeps the kernel's autotuning (up to tcp_wmem's maximum,
    // often 4 MiB). A fixed size bounds kernel memory per connection and makes back-pressure
    // reach the outbound queue sooner.
    std::size_t socket_send_buffer = 0;
    // Under a steady rate of at least one message per window, a shard holds its writes for up
    // to this long so that what is due close together leaves in one write per connection
    // (engine/coalescer.hpp); idle, a message is written at once. 2 ms is 2 % of the spec's
    // 100 ms lateness budget; at 10,000 msg/s it gathers about twenty messages per write and
    // cut the server's CPU per delivery from 1.0 to 0.48 µs (docs/benchmarks.md). Zero: never
    // hold.
    std::chrono::microseconds coalesce_window{2000};
    // The writes of one delivery to many connections go to the kernel together, through an
    // io_uring (engine/send_ring.hpp): one system call for up to 256 sendmsgs. On this machine
    // it halved the server's CPU per delivery at 1,000 subscribers (docs/benchmarks.md); a kernel
    // that refuses io_uring gets one sendmsg per connection, as does `false`.
    bool io_uring = true;
    // The spec's default inbound limit; client messages are small JSON documents.
    std::size_t inbound_limit_bytes = 64 << 10;
    // An HTTP request's start line and headers together (the query string is part of the start
    // line): a browser's upgrade or GET is under 2 KiB even with cookies; 16 KiB leaves room for
    // a long poll query (every channel of a large configuration) and refuses the rest with 413.
    std::size_t header_limit_bytes = 16 << 10;
    // An HTTP request body: no route reads one, so it only has to be drained; beyond it, 413.
    std::size_t body_limit_bytes = 64 << 10;
    // The spec's minimum: enough for a client away for ~30 minutes on a 2 s stream to resume.
    std::size_t history = 1000;
    // Subscriptions per connection: every channel of a generous configuration, not unbounded.
    std::size_t max_subscriptions = 1024;
    // Client messages per second (token bucket, burst of twice the rate) before `rate_limited`.
    double client_rate = 50.0;
    // Errors one connection may cause before it is closed with 1008 ("repeated abuse").
    std::size_t max_errors = 100;

    // Ping a connection silent for this long (announced as welcome.heartbeatMs) and close it
    // when it stays silent for twice as long: browsers answer pings by themselves.
    std::chrono::milliseconds heartbeat{15000};
    // A client that never finishes its HTTP request or WebSocket handshake.
    std::chrono::milliseconds handshake_timeout{10000};
    // How long shutdown waits for clients to answer the 1001 close before dropping them.
    std::chrono::milliseconds drain_timeout{2000};

    bool deflate = false;  // permessage-deflate: the spec says off unless the server enables it
    std::vector<std::string> allowed_origins;  // empty: any origin
    std::string auth_token;                    // empty: no token required
    std::string tls_cert_file;
    std::string tls_key_file;
    // The dashboard's built files, served at `/` (engine/static_files.hpp); empty: a placeholder
    // page. The app defaults it to the `dashboard/` folder beside the program.
    std::string web_root;
};

}  // namespace streambed::engine
