// impairment_proxy.hpp: the network impairment proxy — a user-space TCP proxy between clients
// and the server that delays, throttles, stalls, slices, cuts and resets their bytes, with every
// random draw replayable from one seed (docs/proxy.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proxy/impairment.hpp"

namespace streambed::proxy {

struct ProxyOptions {
    std::string listen_host = "127.0.0.1";
    std::uint16_t listen_port = 0;  // 0: a free port
    std::string upstream_host = "127.0.0.1";
    std::uint16_t upstream_port = 0;
    std::uint64_t seed = 42;  // every random draw comes from it
    std::size_t max_held_bytes =
        4 << 20;  // per connection and direction; reading stops beyond (TCP back-pressure)
};

class ImpairmentProxy {  // runs on a thread of its own; every method thread-safe
  public:
    explicit ImpairmentProxy(ProxyOptions);
    ~ImpairmentProxy();  // stops
    ImpairmentProxy(const ImpairmentProxy&) = delete;
    ImpairmentProxy& operator=(const ImpairmentProxy&) = delete;

    void start();  // resolves the upstream, binds (throws std::runtime_error naming the address)
                   // and runs
    std::uint16_t port() const;
    void stop();  // closes everything, joins; idempotent

    void add(Impairment);  // applies at once to open and future connections
    bool remove(const std::string& name);
    void clear();
    std::vector<Impairment> list() const;
    void set_partition(
        bool on);  // both directions black-holed for every connection, new ones accepted but never
                   // connected upstream; off: held bytes flow again
    bool partitioned() const;
    void reset_all();  // RST every open connection now

    struct Stats {
        std::uint64_t accepted, open, bytes_up, bytes_down, resets;
    };
    Stats stats() const;
    // For tests and reports: the delays drawn for one connection key and direction, in order (µs).
    // A unit gets an entry when a latency or jitter applies to it; a new connection with the same
    // key starts the list afresh. Bounded: at most 1,000,000 entries over all keys are kept.
    std::vector<std::int64_t> schedule(const std::string& key, Direction d) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

nlohmann::json to_json(const ImpairmentProxy::Stats&);

}  // namespace streambed::proxy
