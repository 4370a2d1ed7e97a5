// load_client.cpp: `bench` on the fleet — connect everyone, read the totals, let the window run,
// read them again; the difference is the measurement.
#include "bench/load_client.hpp"

#include <algorithm>
#include <thread>

#include "bench/server_process.hpp"
#include "fleet/fleet.hpp"

namespace streambed::bench {
using Clock = std::chrono::steady_clock;

namespace {

fleet::ClientGroup group_of(const LoadOptions& o) {
    fleet::ClientGroup g;
    g.name = "bench";
    g.clients = o.clients;
    g.endpoint = o.endpoint;
    g.subscribe = o.subscribe;
    g.batch = o.batch;
    g.deflate = o.deflate;
    g.reconnect.enabled = false;  // a load test counts what it loses; it does not come back
    g.resume = false;
    return g;
}

}  // namespace

double ms(std::int64_t us) {
    return static_cast<double>(us) / 1000.0;
}

LoadResult run_load(const LoadOptions& options, const std::function<void(Phase)>& on_phase) {
    fleet::FleetOptions f;
    // No more threads than clients, and at least one, even for none.
    f.threads = static_cast<unsigned>(
        std::max<std::size_t>(1, std::min<std::size_t>(options.threads, options.clients)));
    f.connect_concurrency = std::max<std::size_t>(1, options.connect_concurrency);
    f.connect_timeout = options.connect_timeout;
    f.token = options.token;
    f.origin = options.origin;
    f.tls = options.tls_settings;
    std::vector<std::vector<fleet::Address>> routes{options.nodes};
    if (options.nodes.empty()) routes.front() = {{options.host, options.port, options.tls}};
    fleet::Fleet fleet(f, {group_of(options)}, std::move(routes));
    fleet.start();

    // Everyone welcomed or failed (no client retries). Polled: the fleet's threads own the
    // counts, and a reading every 20 ms costs nothing beside thousands of connections.
    LoadResult out;
    fleet::GroupTotals before;
    while (true) {
        before = fleet.totals().at(0);
        if (before.connects + before.failed >= options.clients) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    out.connected = before.connects;  // welcomed, whether or not still open
    out.failed = before.failed;
    on_phase(Phase::connected);

    const double cpu0 = own_cpu_seconds();
    const auto t0 = Clock::now();
    if (out.connected > 0 && !options.until) std::this_thread::sleep_for(options.duration);
    while (out.connected > 0 && options.until && Clock::now() - t0 < options.duration &&
           !options.until(fleet.totals().at(0).since(before)))
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const auto window = fleet.totals().at(0).since(before);
    out.window_s = std::chrono::duration<double>(Clock::now() - t0).count();
    out.client_cpu_s = own_cpu_seconds() - cpu0;
    on_phase(Phase::measured);

    fleet.stop();
    const auto total = fleet.result({}).groups.at(0);
    out.messages = window.messages;
    out.frames = window.frames;
    out.bytes = window.bytes;
    out.closed_early = window.lost;
    out.lateness_us = window.lateness_us;
    out.gaps = total.seqs.gaps;
    out.conflated = total.seqs.conflated;
    out.duplicates = total.seqs.duplicates;
    out.delivery_ratio = total.seqs.expected > 0 ? static_cast<double>(total.seqs.distinct) /
                                                       static_cast<double>(total.seqs.expected)
                                                 : 1.0;
    out.dropped = total.lost;
    out.reasons = total.reasons;
    return out;
}

}  // namespace streambed::bench
