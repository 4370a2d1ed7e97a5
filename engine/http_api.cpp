// http_api.cpp: health, metrics, stats, the polling fallback, and the dashboard's files.
#include "engine/http_api.hpp"
#include "engine/access.hpp"
#include "engine/epoch.hpp"
#include "engine/json_text.hpp"
#include "engine/static_files.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

namespace streambed::engine {
using json = nlohmann::json;

namespace {

ApiResponse json_error(unsigned status, std::string_view code, std::string_view message) {
    return {status, "application/json", json_text(json{{"error", code}, {"message", message}}), {}};
}

ApiResponse health(const ServerContext& ctx, std::string_view which) {
    const bool up = !ctx.draining.load();
    const bool ready = up && ctx.hub.stream_count() > 0;
    json checks = json::array();
    checks.push_back({{"name", "server"}, {"status", up ? "UP" : "DOWN"}});
    if (which != "live")
        checks.push_back(
            {{"name", "source"},
             {"status", ready ? "UP" : "DOWN"},
             {"data", {{"streams", ctx.hub.stream_count()}, {"published", ctx.hub.published()}}}});
    // A cluster's backend (Redis): a node that lost it is not ready, though still live.
    bool backend_up = true;
    if (auto backend = ctx.hub.backend().status(); backend && which != "live") {
        backend_up = backend->up;
        checks.push_back({{"name", backend->name},
                          {"status", backend->up ? "UP" : "DOWN"},
                          {"data", {{backend->up ? "role" : "reason", backend->reason}}}});
    }
    const bool ok = which == "live" ? up : ready && backend_up;
    return {ok ? 200u : 503u,
            "application/json",
            json_text(json{{"status", ok ? "UP" : "DOWN"}, {"checks", checks}}),
            {}};
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        auto pos = s.find(sep);
        out.push_back(s.substr(0, pos));
        if (pos == std::string_view::npos) return out;
        s.remove_prefix(pos + 1);
    }
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

}  // namespace

ApiResponse poll(const Hub& hub, std::string_view endpoint_name, std::string_view query) {
    auto endpoint = endpoint_from_name(endpoint_name);
    if (!endpoint)
        return json_error(
            404, "unknown_endpoint",
            "no endpoint '" + std::string(endpoint_name) +
                "': use channels, transactions, validators, consensus, network or metrics");
    // Boost.URL 1.81 decodes the last value up to the next NUL, past the end of the view, so the
    // query is parsed from a terminated copy.
    const std::string query_copy(query);
    auto params = boost::urls::parse_query(query_copy);
    if (!params) return json_error(400, "bad_request", "the query string is malformed");

    std::optional<std::string> channels_param, since_param, epoch_param;
    for (auto p : *params) {
        const std::string key = p.key.decode();
        if (key == "channels")
            channels_param = p.value.decode();
        else if (key == "since")
            since_param = p.value.decode();
        else if (key == "epoch")
            epoch_param = p.value.decode();
        else if (key == "token")
            continue;  // the auth token, checked before polling
        else
            return json_error(400, "bad_request",
                              "unknown parameter '" + key + "': use channels, since and epoch");
    }
    // Read once: the reply names the epoch its seqs belong to.
    const std::string epoch = hub.epoch();
    // A poll under another epoch resets every polled stream, `since` or not: the client's view
    // belongs to another world.
    const bool foreign = foreign_epoch(epoch_param, epoch);

    std::vector<Stream*> streams;
    if (!channels_param || *channels_param == "*") {
        streams = hub.streams_of(*endpoint);
    } else {
        for (auto c : split(*channels_param, ',')) {
            Stream* s = hub.find(*endpoint, c);
            if (!s)
                return json_error(400, "unknown_channel",
                                  "unknown channel '" + std::string(c) + "' on " +
                                      std::string(info(*endpoint).path));
            if (std::find(streams.begin(), streams.end(), s) == streams.end()) streams.push_back(s);
        }
    }

    std::vector<std::pair<Stream*, std::uint64_t>> since;
    if (since_param && !since_param->empty()) {
        for (auto item : split(*since_param, ',')) {
            auto colon = item.rfind(':');
            std::optional<std::uint64_t> seq;
            if (colon != std::string_view::npos) seq = to_u64(item.substr(colon + 1));
            if (!seq)
                return json_error(
                    400, "bad_request",
                    "bad 'since' item '" + std::string(item) + "': expected CHANNEL:SEQ");
            auto channel = item.substr(0, colon);
            auto it = std::find_if(streams.begin(), streams.end(),
                                   [&](Stream* s) { return s->channel() == channel; });
            if (it == streams.end())
                return json_error(
                    400, "bad_request",
                    "'since' names channel '" + std::string(channel) + "' that is not polled");
            since.emplace_back(*it, *seq);
        }
    }

    // The messages are spliced in as sent on the WebSocket: the same bytes, not re-serialized.
    std::string body = R"({"messages":[)";
    json next = json::object();
    json reset = json::array();
    bool first = true;
    for (Stream* s : streams) {
        std::optional<std::uint64_t> from;
        for (auto& [st, seq] : since)
            if (st == s) from = seq;
        auto c = foreign ? s->catchup_for_epoch(from.value_or(0), true) : s->catchup(from);
        for (auto& m : c.messages) {
            if (!first) body += ',';
            body += m->bytes;
            first = false;
        }
        next[s->channel()] = c.last_seq;
        if (c.reset) reset.push_back(s->channel());
    }
    body += R"(],"next":)" + json_text(next) + R"(,"reset":)" + json_text(reset) + R"(,"epoch":)" +
            json_text(json(epoch)) + "}";
    return {200, "application/json", std::move(body), {}};
}

ApiResponse handle_api_request(ServerContext& ctx, std::string_view method, std::string_view target,
                               std::string_view authorization) {
    if (method != "GET" && method != "HEAD") {
        auto res = json_error(405, "method_not_allowed", "only GET and HEAD are served here");
        res.headers.emplace_back("Allow", "GET, HEAD");
        return res;
    }
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return json_error(400, "bad_request", "the request target is malformed");
    const std::string path = url->path();
    // The data behind /api/ is guarded by the token; health, metrics and the index page are not.
    if (path.starts_with("/api/") &&
        !token_accepted(ctx.options.auth_token,
                        presented_token(authorization, url->encoded_query())))
        return {401,
                "application/json",
                unauthorized_body(),
                {{"WWW-Authenticate", std::string(kWwwAuthenticate)}}};

    if (path == "/q/health" || path == "/q/health/ready") return health(ctx, "ready");
    if (path == "/q/health/live") return health(ctx, "live");
    if (path == "/q/metrics")
        return {
            200, "text/plain; version=0.0.4; charset=utf-8", prometheus_text(ctx.snapshot()), {}};
    if (path == "/api/v11/websocket/stats")
        return {200, "application/json", stats_json(ctx.snapshot()), {}};
    constexpr std::string_view kPoll = "/api/v11/poll/";
    if (path.starts_with(kPoll))
        return poll(ctx.hub, std::string_view(path).substr(kPoll.size()), url->encoded_query());
    // The dashboard's files; nothing of them lies under /api/, /q/ or /ws/.
    if (!path.starts_with("/api/") && !path.starts_with("/q/") && !path.starts_with("/ws/"))
        if (auto file = serve_static(ctx.options.web_root, path)) return std::move(*file);
    return json_error(404, "not_found", "no route for " + path);
}

}  // namespace streambed::engine
