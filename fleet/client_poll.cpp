// client_poll.cpp: the polling fallback — while the upgrade keeps failing, a client polls
// /api/v11/poll/{endpoint} with `since` from the seqs it holds, and goes back to push (resuming
// from the same seqs) as soon as a WebSocket welcome arrives: no gap and no repeat either way.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <optional>

#include "fleet/client.hpp"
#include "fleet/fleet.hpp"

namespace streambed::fleet {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
// One poll: its own connection (Connection: close; https:// when the target is TLS), the whole
// response read to the end.
struct PollOp {
    explicit PollOp(asio::io_context& ioc) : sock(ioc) {}
    tcp::socket sock;
    std::optional<TlsStream> tls;
    std::string request, response;
};
constexpr std::size_t kMaxPollResponse = 16 << 20;  // history of every stream at most, in practice

// Writes the request and reads the response to its end on `s` (op's socket or its TLS stream);
// then done(error), where the end of the stream is no error.
template <class Stream, class Done>
void exchange(Stream& s, const std::shared_ptr<PollOp>& op, Done done) {
    asio::async_write(s, asio::buffer(op->request), [&s, op, done](error_code wec, std::size_t) {
        if (wec) return done(wec);
        asio::async_read(s, asio::dynamic_buffer(op->response, kMaxPollResponse),
                         [op, done](error_code rec, std::size_t) {
                             // A TLS peer closing without close_notify ends the response too.
                             const bool end = rec == asio::error::eof ||
                                              rec == asio::ssl::error::stream_truncated;
                             done(end ? error_code{} : rec);
                         });
    });
}
}  // namespace

void Client::start_polling() {
    polling_ = true;
    poll_once();
}

void Client::poll_once() {
    if (!polling_ || state_ == State::stopped) return;
    const unsigned gen = ++poll_gen_;
    std::string query;
    if (!spec_.subscribe.empty() &&
        std::find(spec_.subscribe.begin(), spec_.subscribe.end(), "*") == spec_.subscribe.end())
        query = "channels=" + fmt::format("{}", fmt::join(spec_.subscribe, ","));
    std::string since;
    for (const auto& s : streams_)
        if (!s.seqs.empty())
            since += fmt::format("{}{}:{}", since.empty() ? "" : ",", s.channel, s.seqs.last());
    if (!since.empty()) query += (query.empty() ? "since=" : "&since=") + since;
    if (!ctx_.options->token.empty())
        query += (query.empty() ? "token=" : "&token=") + ctx_.options->token;
    auto op = std::make_shared<PollOp>(ctx_.ioc);
    op->request = fmt::format(
        "GET /api/v11/poll/{}{}{} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        spec_.endpoint.substr(4), query.empty() ? "" : "?", query, host_header(target().host));
    auto done = [self = shared_from_this(), op, gen](error_code ec) {
        if (!ec) self->on_poll_response(op->response, gen);
        self->schedule_poll();
    };
    op->sock.async_connect(
        target().endpoint, [self = shared_from_this(), op, gen, done](error_code ec) {
            if (ec || gen != self->poll_gen_ || !self->polling_) return self->schedule_poll();
            if (!self->target().tls) return exchange(op->sock, op, done);
            op->tls.emplace(op->sock, *self->ctx_.tls);
            prepare_tls_stream(*op->tls, self->target().host, self->ctx_.options->tls.verify);
            op->tls->async_handshake(asio::ssl::stream_base::client,
                                     [self, op, gen, done](error_code hec) {
                                         if (hec || gen != self->poll_gen_ || !self->polling_)
                                             return self->schedule_poll();
                                         exchange(*op->tls, op, done);
                                     });
        });
}

void Client::schedule_poll() {
    if (!polling_ || state_ == State::stopped) return;
    poll_timer_.expires_after(ctx_.wall(spec_.poll_interval));
    poll_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (!ec) self->poll_once();
    });
}

void Client::on_poll_response(std::string_view response, unsigned gen) {
    // Push came back meanwhile: its resume already covers what this poll holds.
    if (gen != poll_gen_ || !polling_ || state_ == State::stopped) return;
    const auto body_at = response.find("\r\n\r\n");
    if (!response.starts_with("HTTP/1.1 200") || body_at == std::string_view::npos) {
        ++ctx_.totals[group_].failed;
        return;
    }
    const auto body = nlohmann::json::parse(response.substr(body_at + 4), nullptr, false);
    if (!body.is_object()) return;
    if (body.contains("epoch") && body["epoch"].is_string())
        epoch_ = body["epoch"].get<std::string>();
    for (auto& s : streams_) s.fresh = true;  // a poll continues from `since`: any jump is a gap
    if (body.contains("reset") && body["reset"].is_array())
        for (const auto& ch : body["reset"])
            if (ch.is_string()) {
                ++ctx_.totals[group_].resets;
                stream(ch.get<std::string>()).declared = true;
            }
    if (!body.contains("messages") || !body["messages"].is_array()) return;
    const std::int64_t now = wall_now_us();
    for (const auto& m : body["messages"]) {
        if (!m.is_object() || !m.contains("channel") || !m["channel"].is_string() ||
            !m.contains("seq") || !m["seq"].is_number_unsigned() || !m.contains("time") ||
            !m["time"].is_number_integer())
            continue;
        on_data(m["channel"].get<std::string>(), m["seq"].get<std::uint64_t>(),
                m["time"].get<std::int64_t>(), now, true);
    }
}

}  // namespace streambed::fleet
