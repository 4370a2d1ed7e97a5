// metrics.cpp: summing shard counters; Prometheus text and the stats JSON.
#include "engine/metrics.hpp"
#include "engine/json_text.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace streambed::engine {

void MetricsSnapshot::add(const ShardCounters& c) {
    for (std::size_t i = 0; i < kEndpointCount; ++i) {
        by_endpoint[i] += c.connections[i].get();
        active += c.connections[i].get();
    }
    connections_total += c.connections_total.get();
    subscriptions += c.subscriptions.get();
    messages_sent += c.messages_sent.get();
    frames_sent += c.frames_sent.get();
    socket_writes += c.socket_writes.get();
    send_submissions += c.send_submissions.get();
    held_messages += c.held_messages.get();
    bytes_sent += c.bytes_sent.get();
    conflated += c.conflated.get();
    queued_bytes += c.queued_bytes.get();
    slow_consumer_closes += c.slow_consumer_closes.get();
    errors_sent += c.errors_sent.get();
    messages_received += c.messages_received.get();
    http_requests += c.http_requests.get();
    upgrades_refused += c.upgrades_refused.get();
    for (std::size_t i = 0; i < latency_buckets.size(); ++i)
        latency_buckets[i] += c.latency_buckets[i].get();
    latency_sum_us += c.latency_sum_us.get();
    latency_count += c.latency_count.get();
}

void MetricsSnapshot::add(Endpoint endpoint, const DueLateness& d) {
    Due& to = due[index(endpoint)];
    for (std::size_t i = 0; i < to.buckets.size(); ++i) to.buckets[i] += d.buckets[i].get();
    to.sum_us += d.sum_us.get();
    to.count += d.count.get();
}

std::string prometheus_text(const MetricsSnapshot& m) {
    std::string out;
    auto it = std::back_inserter(out);
    auto metric = [&](std::string_view name, std::string_view type, std::string_view help,
                      std::uint64_t value) {
        fmt::format_to(it, "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, value);
    };
    fmt::format_to(it,
                   "# HELP streambed_connections Open WebSocket connections.\n"
                   "# TYPE streambed_connections gauge\n");
    for (auto e : kEndpoints)
        fmt::format_to(it, "streambed_connections{{endpoint=\"{}\"}} {}\n", info(e).path,
                       m.by_endpoint[index(e)]);
    metric("streambed_connections_opened_total", "counter", "WebSocket connections ever opened.",
           m.connections_total);
    metric("streambed_subscriptions", "gauge", "Stream subscriptions held by open connections.",
           m.subscriptions);
    metric("streambed_messages_published_total", "counter",
           "Data messages published by the source.", m.published);
    metric("streambed_messages_sent_total", "counter", "Data messages sent to clients.",
           m.messages_sent);
    metric("streambed_frames_sent_total", "counter", "WebSocket frames sent to clients.",
           m.frames_sent);
    metric("streambed_socket_writes_total", "counter",
           "Socket writes of plain connections (one carries every frame queued in a turn).",
           m.socket_writes);
    metric("streambed_send_submissions_total", "counter",
           "System calls (io_uring submissions) that carried the socket writes of a delivery to "
           "many connections.",
           m.send_submissions);
    metric("streambed_held_messages_total", "counter",
           "Messages that waited for the end of a hold window (adaptive coalescing) in a shard's "
           "inbox, without waking its thread.",
           m.held_messages);
    metric("streambed_bytes_sent_total", "counter", "Payload bytes sent to clients.", m.bytes_sent);
    metric("streambed_conflated_total", "counter",
           "Queued state messages dropped because a newer one replaced them.", m.conflated);
    metric("streambed_outbound_queued_bytes", "gauge",
           "Bytes waiting in the outbound queues of open connections.", m.queued_bytes);
    metric("streambed_slow_consumer_closes_total", "counter",
           "Connections closed with 1013 because their outbound bound was exceeded.",
           m.slow_consumer_closes);
    metric("streambed_errors_sent_total", "counter", "Protocol error messages sent.",
           m.errors_sent);
    metric("streambed_messages_received_total", "counter", "Client messages received.",
           m.messages_received);
    metric("streambed_http_requests_total", "counter", "HTTP API requests served.",
           m.http_requests);
    metric("streambed_upgrades_refused_total", "counter",
           "WebSocket upgrades refused (404, 403, 503).", m.upgrades_refused);
    // One series of a histogram in seconds from µs buckets (`bounds`, then +Inf last in
    // `buckets`); `label` is empty or `name="value"`.
    auto series = [&](std::string_view name, std::string_view label, const auto& bounds,
                      const auto& buckets, std::uint64_t sum_us, std::uint64_t count) {
        const std::string_view comma = label.empty() ? "" : ",";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < bounds.size(); ++i) {
            cumulative += buckets[i];
            fmt::format_to(it, "{}_bucket{{{}{}le=\"{}\"}} {}\n", name, label, comma,
                           static_cast<double>(bounds[i]) / 1e6, cumulative);
        }
        cumulative += buckets.back();
        fmt::format_to(it, "{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, label, comma, cumulative);
        const std::string braced = label.empty() ? "" : fmt::format("{{{}}}", label);
        fmt::format_to(it, "{}_sum{} {}\n", name, braced, static_cast<double>(sum_us) / 1e6);
        fmt::format_to(it, "{}_count{} {}\n", name, braced, count);
    };
    auto header = [&](std::string_view name, std::string_view help) {
        fmt::format_to(it, "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    };
    header("streambed_broadcast_latency_seconds",
           "From publish to the frame written to the socket.");
    series("streambed_broadcast_latency_seconds", "", kLatencyBucketsUs, m.latency_buckets,
           m.latency_sum_us, m.latency_count);
    header("streambed_due_to_hub_seconds",
           "From the instant a message was due to its entry into this node's hub (published "
           "here, or read from a cluster's Redis), by endpoint.");
    for (auto e : kEndpoints) {
        const auto& d = m.due[index(e)];
        series("streambed_due_to_hub_seconds", fmt::format("endpoint=\"{}\"", info(e).path),
               kDueBucketsUs, d.buckets, d.sum_us, d.count);
    }
    return out;
}

std::string stats_json(const MetricsSnapshot& m) {
    nlohmann::json endpoints = nlohmann::json::object();
    for (auto e : kEndpoints) endpoints[std::string(info(e).path)] = m.by_endpoint[index(e)];
    nlohmann::json j = {{"activeConnections", m.active},
                        {"totalSubscriptions", m.subscriptions},
                        {"endpoints", endpoints},
                        {"connectionsOpened", m.connections_total},
                        {"messagesPublished", m.published},
                        {"messagesSent", m.messages_sent},
                        {"framesSent", m.frames_sent},
                        {"socketWrites", m.socket_writes},
                        {"sendSubmissions", m.send_submissions},
                        {"heldMessages", m.held_messages},
                        {"bytesSent", m.bytes_sent},
                        {"conflated", m.conflated},
                        {"queuedBytes", m.queued_bytes},
                        {"slowConsumerCloses", m.slow_consumer_closes},
                        {"errorsSent", m.errors_sent}};
    return json_text(j);
}

}  // namespace streambed::engine
