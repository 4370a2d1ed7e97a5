// http_session.cpp: HTTP keep-alive loop, API routing, and the gate of every WebSocket upgrade
// (malformed handshake 400/426, unknown path 404, origin 403, token 401, draining or connection
// limit 503), each refusal a JSON body.
#include "engine/http_session.hpp"
#include "engine/json_text.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>
#include <optional>

#include "engine/access.hpp"
#include "engine/beast_session.hpp"
#include "engine/http_api.hpp"
#include "engine/transport.hpp"
#include "engine/websocket_session.hpp"

namespace streambed::engine {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// Over TCP, or TLS for https:// and wss:// (transport.hpp).
class HttpSession : public std::enable_shared_from_this<HttpSession> {
  public:
    HttpSession(ServerContext& ctx, Shard& shard, Transport stream)
        : ctx_(ctx), shard_(shard), stream_(std::move(stream)) {}

    void run() {
        asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
            if (!self->stream_.is_tls()) return self->do_read();
            self->tcp().expires_after(self->ctx_.options.handshake_timeout);
            self->stream_.async_handshake([self](beast::error_code ec) {
                if (!ec) self->do_read();
            });
        });
    }

  private:
    beast::tcp_stream& tcp() { return stream_.next_layer(); }

    void do_read() {
        parser_.emplace();
        // Requests are small (engine/options.hpp says why): anything larger is refused with 413.
        parser_->header_limit(static_cast<std::uint32_t>(ctx_.options.header_limit_bytes));
        parser_->body_limit(ctx_.options.body_limit_bytes);
        tcp().expires_after(ctx_.options.handshake_timeout);
        http::async_read(stream_, buffer_, *parser_,
                         beast::bind_front_handler(&HttpSession::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec == http::error::end_of_stream) return shutdown();
        if (ec) {
            if (ec == http::error::body_limit || ec == http::error::header_limit)
                return respond(413, json_error("too_large", "request too large"), false);
            return;  // timeouts, resets, garbage: just drop the connection
        }
        auto req = parser_->release();
        if (beast::websocket::is_upgrade(req)) return upgrade(std::move(req));
        shard_.counters().http_requests.add();
        auto res = handle_api_request(ctx_, std::string_view(req.method_string()),
                                      std::string_view(req.target()),
                                      std::string_view(req[http::field::authorization]));
        const bool head = req.method() == http::verb::head;
        respond(res.status, std::move(res.body), req.keep_alive(), res.content_type, res.headers,
                head);
    }

    void upgrade(http::request<http::string_body> req) {
        // A terminated copy: Boost.URL 1.81 reads the last query value up to the next NUL.
        const std::string target(req.target());
        auto url = boost::urls::parse_origin_form(target);
        if (!url) return refuse(400, json_error("bad_request", "malformed request target"));
        const std::string path = url->path();
        auto endpoint = endpoint_from_path(path);
        if (!endpoint)
            return refuse(404, json_error("not_found", "no WebSocket endpoint at " + path));
        // What Beast's accept would refuse with a text/plain body, refused here as JSON.
        const auto key = std::string_view(req[http::field::sec_websocket_key]);
        if (key.empty() || key.size() > 24)
            return refuse(400,
                          json_error("bad_request", key.empty() ? "missing Sec-WebSocket-Key"
                                                                : "malformed Sec-WebSocket-Key"));
        if (std::string_view(req[http::field::sec_websocket_version]) != "13")
            return refuse(
                426, json_error("upgrade_required", "only Sec-WebSocket-Version 13 is supported"),
                {{"Sec-WebSocket-Version", "13"}});
        if (ctx_.draining)
            return refuse(503, json_error("draining", "server shutting down"),
                          {{"Retry-After", "1"}});
        // A node that lost its cluster's backend (Redis) serves no new client until it is back.
        if (ctx_.hub.backend().down())
            return refuse(
                503,
                json_error("unavailable", "the cluster's backend is down: " + backend_reason()),
                {{"Retry-After", "1"}});

        const auto& o = ctx_.options;
        if (!o.allowed_origins.empty()) {
            auto origin = std::string(req[http::field::origin]);
            if (std::find(o.allowed_origins.begin(), o.allowed_origins.end(), origin) ==
                o.allowed_origins.end())
                return refuse(403,
                              json_error("forbidden", "origin '" + origin + "' is not allowed"));
        }
        SessionParams params{*endpoint};
        for (auto p : url->params())
            if (p.key == "batch") params.batch = p.value == "1" || p.value == "true";
        if (!token_accepted(o.auth_token,
                            presented_token(std::string_view(req[http::field::authorization]),
                                            std::string_view(url->encoded_query()))))
            return refuse(401, unauthorized_body(),
                          {{"WWW-Authenticate", std::string(kWwwAuthenticate)}});
        const std::size_t n = ctx_.websocket_connections.fetch_add(1) + 1;
        if (o.max_connections && n > o.max_connections) {
            ctx_.connection_ended();
            return refuse(
                503,
                json_error("too_many_connections",
                           "connection limit of " + std::to_string(o.max_connections) + " reached"),
                {{"Retry-After", "1"}});
        }
        // From here the session owns the connection count and the connection.
        tcp().expires_never();
        if (stream_.is_tls())
            start_beast_session(ctx_, shard_, std::move(stream_), std::move(req), params);
        else
            start_websocket_session(ctx_, shard_, tcp().release_socket(), std::move(req), params);
    }

    std::string backend_reason() const {
        auto status = ctx_.hub.backend().status();
        return status ? status->reason : std::string();
    }

    static std::string json_error(std::string_view code, std::string_view message) {
        return json_text(nlohmann::json{{"error", code}, {"message", message}});
    }

    void refuse(unsigned status, std::string body,
                std::vector<std::pair<std::string, std::string>> headers = {}) {
        shard_.counters().upgrades_refused.add();
        respond(status, std::move(body), false, "application/json", headers);
    }

    void respond(unsigned status, std::string body, bool keep_alive,
                 std::string_view content_type = "application/json",
                 const std::vector<std::pair<std::string, std::string>>& headers = {},
                 bool head = false) {
        auto res = std::make_shared<http::response<http::string_body>>(
            static_cast<http::status>(status), 11);
        res->set(http::field::server, "streambed");
        res->set(http::field::content_type, content_type);
        res->set(http::field::cache_control, "no-store");
        res->set(http::field::access_control_allow_origin, "*");
        for (auto& [k, v] : headers) res->set(k, v);
        res->keep_alive(keep_alive);
        res->body() = std::move(body);
        res->prepare_payload();
        if (head) res->body().clear();
        response_ = res;
        tcp().expires_after(ctx_.options.handshake_timeout);
        http::async_write(
            stream_, *res,
            [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                if (ec) return;
                if (!keep_alive) return self->shutdown();
                self->response_.reset();
                self->do_read();
            });
    }

    void shutdown() {
        // TLS's close_notify waits for the peer's, a second at most; TCP's shutdown does not.
        tcp().expires_after(std::chrono::seconds(1));
        stream_.async_shutdown([self = shared_from_this()](beast::error_code) {});
    }

    ServerContext& ctx_;
    Shard& shard_;
    Transport stream_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    std::shared_ptr<void> response_;
};

}  // namespace

void start_http_session(ServerContext& ctx, Shard& shard, tcp::socket socket) {
    auto stream =
        ctx.tls ? Transport::tls(std::move(socket), *ctx.tls) : Transport::plain(std::move(socket));
    std::make_shared<HttpSession>(ctx, shard, std::move(stream))->run();
}

}  // namespace streambed::engine
