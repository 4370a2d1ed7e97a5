// session.cpp: the protocol side of a connection — the welcome, dispatch of the client's
// messages, queueing and flushing, closing — shared by both transports.
#include "engine/session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include "engine/clock.hpp"
#include "engine/protocol.hpp"

namespace streambed::engine {
namespace asio = boost::asio;

namespace {

bool expected_error(boost::system::error_code ec) {
    return ec == asio::error::operation_aborted || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::timed_out || ec == asio::error::not_connected;
}

}  // namespace

Session::Session(ServerContext& ctx, Shard& shard, SessionParams params)
    : ctx_(ctx),
      shard_(shard),
      params_(params),
      queue_(ctx.options.outbound_limit_bytes),
      meter_(shard.counters(), ctx.tap, ctx.options.outbound_limit_bytes),
      subs_(ctx.hub, params.endpoint,
            {ctx.options.max_subscriptions, ctx.options.outbound_limit_bytes / 2}, *this),
      tokens_(ctx.options.client_rate, steady_now_us()) {}

Session::~Session() {
    if (flush_scheduled_) shard_.cancel_flush(this);
    queue_.clear();
    queue_.end_write();
    meter_.queued(queue_.bytes());
    detach();
    ctx_.connection_ended();
}

void Session::deliver(const MessagePtr& m, bool at_once) {
    if (closing_ || !subs_.admit(*m)) return;
    send(m, at_once ? Flush::now : Flush::end_of_turn);
}

void Session::on_stream_added(Stream* stream) {
    if (!closing_) subs_.on_stream_added(stream);
}

void Session::prefetch(int stage) const {
    if (stage != 0) return;
    __builtin_prefetch(subs_.data());
    queue_.prefetch();
}

void Session::opened(std::string peer, std::string target) {
    attached_ = true;
    shard_.session_add(this);
    shard_.counters().connections[index(params_.endpoint)].add();
    shard_.counters().connections_total.add();

    // Subscribe before the welcome is written: a client holding the welcome is sure to get
    // every message published after it.
    Stream::Catchup snapshot;
    if (auto single = info(params_.endpoint).single_channel; !single.empty()) {
        if (Stream* s = ctx_.hub.find(params_.endpoint, single)) {
            snapshot = s->catchup(std::nullopt);
            subs_.add(s, snapshot.last_seq);
        }
    }
    const auto id =
        fmt::format("{}-{}-{}", ctx_.instance, shard_.index(), shard_.next_session_number());
    if (ctx_.tap)
        meter_.opened({ctx_.next_session_id.fetch_add(1), id, params_.endpoint, std::move(peer),
                       std::move(target), wall_now_us()});
    send_control(welcome_json(params_.endpoint, id, ctx_.hub, ctx_.options.heartbeat.count(),
                              wall_now_us()));
    for (auto& m : snapshot.messages) send(m);
}

void Session::on_message(std::string_view payload, bool binary) {
    if (closing_) return;
    if (binary) return close(CloseCode::unknown_data, "binary frames are not accepted");
    shard_.counters().messages_received.add();
    meter_.frame_in(payload);
    handle(payload);
}

void Session::handle(std::string_view text) {
    if (!tokens_.take(steady_now_us()))
        return send_error(ErrorCode::rate_limited, "too many messages: slow down");
    auto req = parse_client_message(text);
    if (auto* err = std::get_if<ProtocolError>(&req)) return send_error(err->code, err->message);
    if (auto* ping = std::get_if<PingRequest>(&req)) return send_control(pong_json(*ping));
    auto& sub = std::get<SubscribeRequest>(req);
    sub.subscribe ? subs_.subscribe(sub) : subs_.unsubscribe(sub);
}

void Session::detach() {
    if (detached_) return;
    detached_ = true;
    subs_.clear();
    if (attached_) {
        shard_.session_remove(this);
        shard_.counters().connections[index(params_.endpoint)].sub();
    }
}

void Session::send_control(std::string text) {
    send(make_control(std::move(text)));
}

void Session::send_error(ErrorCode code, std::string_view message) {
    shard_.counters().errors_sent.add();
    send_control(error_json(code, message));
    if (++errors_ > ctx_.options.max_errors) close(CloseCode::policy_error, "too many errors");
}

void Session::follow_new_streams(bool on) {
    on ? shard_.wildcard_add(params_.endpoint, this)
       : shard_.wildcard_remove(params_.endpoint, this);
}

void Session::send(const MessagePtr& m, Flush when) {
    if (closing_) return;
    const auto before = queue_.conflated();
    const auto result = queue_.push(m);
    meter_.pushed(result, queue_.conflated() - before, queue_.bytes());
    if (result == PushResult::overflow) return close(CloseCode::try_again_later, "slow consumer");
    schedule_flush(when);
}

void Session::schedule_flush(Flush when) {
    if (flush_scheduled_ || closing_ || queue_.writing() || !queue_.has_queued()) return;
    if (when == Flush::now) return write_now();
    flush_scheduled_ = true;
    shard_.defer_flush(this);
}

void Session::written() {
    queue_.end_write();
    meter_.queued(queue_.bytes());
    subs_.refill();
}

void Session::stop_sending() {
    queue_.clear();
    meter_.queued(queue_.bytes());
    asio::post(shard_.ioc(), [self = shared_from_this()] { self->detach(); });
}

void Session::close(CloseCode code, std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    // Else the peer closed first, and its code is the one recorded.
    if (!peer_closed_first()) meter_.closing(static_cast<int>(code), reason);
    stop_sending();
    close_transport(code, reason);
}

void Session::fail(boost::system::error_code ec, const char* what) {
    if (!closing_) {
        closing_ = true;
        stop_sending();
    }
    if (ec && !expected_error(ec))
        spdlog::debug("session on {}: {}: {}", info(params_.endpoint).path, what, ec.message());
}

}  // namespace streambed::engine
