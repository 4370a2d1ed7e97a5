// websocket_session.cpp: one client connection speaking protocol v1 — the Beast lifecycle
// (accept, read loop, heartbeat, close) and the dispatch of client messages; subscriptions,
// the gathered write and the counters are in subscription_set, gathered_writer and
// session_meter. All of a session's work runs on its shard's thread.
#include "engine/websocket_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "engine/access.hpp"
#include "engine/clock.hpp"
#include "engine/gated_socket.hpp"
#include "engine/gathered_writer.hpp"
#include "engine/outbound_queue.hpp"
#include "engine/protocol.hpp"
#include "engine/session_meter.hpp"
#include "engine/subscription_set.hpp"
#include "engine/token_bucket.hpp"

namespace streambed::engine {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

bool expected_error(beast::error_code ec) {
    return ec == asio::error::operation_aborted || ec == websocket::error::closed ||
           ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == beast::error::timeout ||
           ec == asio::error::not_connected;
}

// NextLayer: GatedSocket for ws://, or beast::ssl_stream<beast::tcp_stream> for wss://.
template <class NextLayer>
class WebSocketSession final : public Subscriber,
                               SubscriptionSink,
                               public std::enable_shared_from_this<WebSocketSession<NextLayer>> {
  public:
    WebSocketSession(ServerContext& ctx, Shard& shard, NextLayer next, SessionParams params)
        : ctx_(ctx),
          shard_(shard),
          ws_(std::move(next)),
          params_(params),
          queue_(ctx.options.outbound_limit_bytes),
          subs_(ctx.hub, params.endpoint,
                {ctx.options.max_subscriptions, ctx.options.outbound_limit_bytes / 2}, *this),
          writer_(params.batch),
          meter_(shard.counters(), ctx.tap, ctx.options.outbound_limit_bytes),
          tokens_(ctx.options.client_rate, steady_now_us()) {}

    ~WebSocketSession() {
        meter_.closed(ws_.reason().code, ws_.reason().reason.c_str());
        if (flush_scheduled_) shard_.cancel_flush(this);
        queue_.clear();
        queue_.end_write();
        meter_.queued(queue_.bytes());
        detach();
        ctx_.websocket_connections.fetch_sub(1);
    }

    void run(http::request<http::string_body> req) {
        // Recorded without the auth token's value (the Authorization header is not recorded).
        if (ctx_.tap) target_ = redact_target(std::string_view(req.target()));
        const auto& o = ctx_.options;
        websocket::stream_base::timeout timeout;
        timeout.handshake_timeout = o.handshake_timeout;
        timeout.idle_timeout = o.heartbeat * 2;  // Beast pings after half of it: heartbeatMs
        timeout.keep_alive_pings = true;
        ws_.set_option(timeout);
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, "streambed"); }));
        ws_.read_message_max(o.inbound_limit_bytes);
        ws_.auto_fragment(false);
        ws_.text(true);
        if (o.deflate) {
            websocket::permessage_deflate pmd;
            pmd.server_enable = true;
            ws_.set_option(pmd);
        }
        if constexpr (kGated) {
            ws_.next_layer().on_beast_idle([weak = this->weak_from_this()] {
                if (auto self = weak.lock()) self->write_now();
            });
        }
        ws_.async_accept(
            req, beast::bind_front_handler(&WebSocketSession::on_accept, this->shared_from_this()));
    }

    // Subscriber
    void deliver(const MessagePtr& m, bool at_once) override {
        if (closing_ || !subs_.admit(*m)) return;
        send(m, at_once ? Flush::now : Flush::end_of_turn);
    }

    void moved(StreamId stream, std::uint32_t slot) override { subs_.moved(stream, slot); }

    void on_stream_added(Stream* stream) override {
        if (!closing_) subs_.on_stream_added(stream);
    }

    void close_for_shutdown() override {
        close(websocket::close_code::going_away, "server shutting down");
    }

    void prefetch(int stage) const override {
        if (stage == 0) {
            __builtin_prefetch(subs_.data());
            queue_.prefetch();
            if constexpr (kGated) __builtin_prefetch(&ws_.next_layer());  // Beast's stream state
        } else if constexpr (kGated) {
            __builtin_prefetch(ws_.next_layer().gate_address());
        }
    }

    // The end of the shard's turn: write what was queued during it.
    void flush() override {
        flush_scheduled_ = false;
        write_now();
    }

  private:
    static constexpr bool kGated = std::is_same_v<NextLayer, GatedSocket>;

    void on_accept(beast::error_code ec) {
        if (ec) return fail(ec, "accept");
        // Frames are written by the session itself unless Beast may have to compress them
        // (--deflate) or encrypt them (wss://, which has no GatedSocket).
        direct_ = kGated && !ctx_.options.deflate;
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
        if (ctx_.tap) {
            beast::error_code ec_peer;
            const auto peer = socket().remote_endpoint(ec_peer);
            meter_.opened({ctx_.next_session_id.fetch_add(1), id, params_.endpoint,
                           ec_peer ? std::string()
                                   : fmt::format("{}:{}", peer.address().to_string(), peer.port()),
                           std::move(target_), wall_now_us()});
        }
        send_control(welcome_json(params_.endpoint, id, ctx_.hub, ctx_.options.heartbeat.count(),
                                  wall_now_us()));
        for (auto& m : snapshot.messages) send(m);
        do_read();
    }

    tcp::socket& socket() {
        if constexpr (kGated)
            return ws_.next_layer().next_layer();
        else
            return beast::get_lowest_layer(ws_).socket();
    }

    // ---- reading and dispatch ------------------------------------------------------------
    void do_read() {
        ws_.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::on_read,
                                                          this->shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) return fail(ec, "read");  // message_too_big: Beast has already closed with 1009
        if (closing_) return;
        if (ws_.got_binary()) {
            return close(websocket::close_code::unknown_data, "binary frames are not accepted");
        }
        shard_.counters().messages_received.add();
        const auto data = buffer_.cdata();
        const std::string_view text(static_cast<const char*>(data.data()), data.size());
        meter_.frame_in(text);
        handle(text);
        buffer_.consume(buffer_.size());
        if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();  // keep idle connections small
        if (!closing_) do_read();
    }

    void handle(std::string_view text) {
        if (!tokens_.take(steady_now_us()))
            return send_error(ErrorCode::rate_limited, "too many messages: slow down");
        auto req = parse_client_message(text);
        if (auto* err = std::get_if<ProtocolError>(&req))
            return send_error(err->code, err->message);
        if (auto* ping = std::get_if<PingRequest>(&req)) return send_control(pong_json(*ping));
        auto& sub = std::get<SubscribeRequest>(req);
        sub.subscribe ? subs_.subscribe(sub) : subs_.unsubscribe(sub);
    }

    // Leaves every table of the shard. Never called while the shard iterates a table.
    void detach() {
        if (detached_) return;
        detached_ = true;
        subs_.clear();
        if (attached_) {
            shard_.session_remove(this);
            shard_.counters().connections[index(params_.endpoint)].sub();
        }
    }

    // ---- SubscriptionSink: queueing, and the shard's tables --------------------------------
    bool open() const override { return !closing_; }
    std::size_t queued_bytes() const override { return queue_.bytes(); }
    void send(const MessagePtr& m) override { send(m, Flush::end_of_turn); }
    void send_control(std::string json) override { send(make_control(std::move(json))); }
    std::uint32_t enter(StreamId stream) override { return shard_.table_add(stream, this); }
    void leave(StreamId stream, std::uint32_t slot) override { shard_.table_remove(stream, slot); }
    void follow_new_streams(bool on) override {
        on ? shard_.wildcard_add(params_.endpoint, this)
           : shard_.wildcard_remove(params_.endpoint, this);
    }

    void send_error(ErrorCode code, std::string_view message) override {
        shard_.counters().errors_sent.add();
        send_control(error_json(code, message));
        if (++errors_ > ctx_.options.max_errors)
            close(websocket::close_code::policy_error, "too many errors");
    }

    enum class Flush { now, end_of_turn };

    void send(const MessagePtr& m, Flush when) {
        if (closing_) return;
        const auto before = queue_.conflated();
        const auto result = queue_.push(m);
        meter_.pushed(result, queue_.conflated() - before, queue_.bytes());
        if (result == PushResult::overflow)
            return close(websocket::close_code::try_again_later, "slow consumer");
        schedule_flush(when);
    }

    // Writes are started at the end of the shard's turn, so that every frame queued for this
    // connection during the turn goes out together — unless the shard says nothing else is
    // coming this turn (Flush::now, from deliver()).
    void schedule_flush(Flush when = Flush::end_of_turn) {
        if (flush_scheduled_ || closing_ || queue_.writing() || !queue_.has_queued()) return;
        if (when == Flush::now) return write_now();
        flush_scheduled_ = true;
        shard_.defer_flush(this);
    }

    void write_now() { direct_ ? write_gathered() : do_write(); }

    // ---- writing through Beast (wss://, --deflate): one frame per write --------------------
    void do_write() {
        if (queue_.writing() || !queue_.has_queued() || closing_) return;
        auto batch = queue_.begin_write(params_.batch ? kBatchMaxMessages : 1, kBatchMaxBytes,
                                        /*control_alone=*/true);
        if (batch.size() > 1) batch_array(batch_buffer_, batch);
        ws_.async_write(
            asio::buffer(batch.size() == 1 ? batch[0]->bytes : batch_buffer_),
            beast::bind_front_handler(&WebSocketSession::on_write, this->shared_from_this()));
        // The write starts inside async_write (Asio tries the send at once).
        meter_.write_started(batch);
    }

    void on_write(beast::error_code ec, std::size_t bytes) {
        if (ec) return fail(ec, "write");
        meter_.written_as_one(queue_.inflight(), bytes);
        if (batch_buffer_.capacity() > kBatchMaxBytes * 2) std::string().swap(batch_buffer_);
        written();
        do_write();
    }

    // ---- writing on plain connections: every queued frame in one sendmsg ------------------
    void write_gathered() {
        if constexpr (kGated) {
            if (closing_ || queue_.writing() || !queue_.has_queued()) return;
            if (!ws_.next_layer().session_may_write()) return;  // Beast's write ends: on_beast_idle
            const auto batch = queue_.begin_write(writer_.max_messages(), writer_.max_bytes());
            writer_.plan(batch);
            meter_.write_started(batch);
            send_gathered();
        }
    }

    // Sends what is left of the in-flight frames; waits for the socket if it cannot take it all.
    void send_gathered() {
        if constexpr (kGated) {
            const auto progress = writer_.send(socket().native_handle(), queue_.inflight());
            shard_.counters().socket_writes.add();
            auto& gate = ws_.next_layer();
            if (progress.status == GatherProgress::failed) {
                gate.release();
                return fail(beast::error_code(progress.error, beast::system_category()), "write");
            }
            if (progress.status == GatherProgress::done) {
                gate.release();
                meter_.written_gathered(queue_.inflight(), writer_);
                written();
                if (!queue_.has_queued()) writer_.trim();
                return schedule_flush();
            }
            // Part-way out: Beast's frames wait until the rest of ours is on the wire.
            gate.hold();
            socket().async_wait(tcp::socket::wait_write,
                                [self = this->shared_from_this()](beast::error_code ec) {
                                    if (!ec) return self->send_gathered();
                                    self->ws_.next_layer().release();
                                    self->fail(ec, "write");
                                });
        }
    }

    // The in-flight messages are on the wire (and counted): make room, go on with resumes.
    void written() {
        queue_.end_write();
        meter_.queued(queue_.bytes());
        subs_.refill();
    }

    // ---- closing -------------------------------------------------------------------------
    // Drops the queue; leaves the shard's tables later: we may be inside its delivery loop now.
    void stop_sending() {
        queue_.clear();
        meter_.queued(queue_.bytes());
        asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->detach(); });
    }

    void close(websocket::close_code code, std::string_view reason) {
        if (closing_) return;
        closing_ = true;
        // Else the peer closed first, and its code is the one recorded.
        if (!ws_.reason().code) meter_.closing(static_cast<int>(code), reason);
        stop_sending();
        ws_.async_close(websocket::close_reason(code, reason),
                        [self = this->shared_from_this()](beast::error_code ec) {
                            if (ec) self->fail(ec, "close");
                        });
    }

    void fail(beast::error_code ec, const char* what) {
        if (!closing_) {
            closing_ = true;
            stop_sending();
        }
        if (!expected_error(ec) && ec != websocket::error::message_too_big)
            spdlog::debug("session on {}: {}: {}", info(params_.endpoint).path, what, ec.message());
    }

    ServerContext& ctx_;
    Shard& shard_;
    websocket::stream<NextLayer> ws_;
    SessionParams params_;
    beast::flat_buffer buffer_;
    OutboundQueue queue_;
    SubscriptionSet subs_;
    GatheredWriter writer_;     // plain connections (direct_)
    std::string batch_buffer_;  // a ?batch=1 array written through Beast
    SessionMeter meter_;
    bool direct_ = false;           // frames written by writer_, not by Beast
    bool flush_scheduled_ = false;  // in the shard's list of connections to write this turn
    bool attached_ = false;
    bool detached_ = false;
    bool closing_ = false;
    std::size_t errors_ = 0;
    std::string target_;  // the upgrade target until the welcome (recorded)
    TokenBucket tokens_;
};

}  // namespace

void start_websocket_session(ServerContext& ctx, Shard& shard, tcp::socket socket,
                             http::request<http::string_body> request, SessionParams params) {
    std::make_shared<WebSocketSession<GatedSocket>>(ctx, shard, GatedSocket(std::move(socket)),
                                                    params)
        ->run(std::move(request));
}

void start_websocket_session(ServerContext& ctx, Shard& shard,
                             beast::ssl_stream<beast::tcp_stream> stream,
                             http::request<http::string_body> request, SessionParams params) {
    using Tls = beast::ssl_stream<beast::tcp_stream>;
    std::make_shared<WebSocketSession<Tls>>(ctx, shard, std::move(stream), params)
        ->run(std::move(request));
}

}  // namespace streambed::engine
