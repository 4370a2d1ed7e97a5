// websocket_session.cpp: one client connection speaking protocol v1 — welcome, subscriptions
// with snapshot and resume, the bounded outbound queue with conflation, heartbeat and every
// refusal of bad input. All of a session's work runs on its shard's thread.
#include "engine/websocket_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cmath>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "engine/access.hpp"
#include "engine/epoch.hpp"
#include "engine/gated_socket.hpp"
#include "engine/outbound_queue.hpp"
#include "engine/protocol.hpp"

namespace streambed::engine {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

// A batch frame gathers at most this much: large enough to amortize a write over many
// messages, small enough to keep the latency of the first one low.
constexpr std::size_t kBatchMaxMessages = 256;
constexpr std::size_t kBatchMaxBytes = 64 << 10;
// A gathered write (plain connections) carries at most this many frames, or this many bytes
// past which no more frames are added: one sendmsg for all of them, within the kernel's iovec
// limit, and a bounded share of the turn for one connection.
constexpr std::size_t kGatherMaxFrames = 128;
constexpr std::size_t kGatherMaxBytes = 256 << 10;
// History is read for a resume this many messages at a time (one lock of the stream each).
constexpr std::size_t kCatchupChunk = 64;

bool expected_error(beast::error_code ec) {
    return ec == asio::error::operation_aborted || ec == websocket::error::closed ||
           ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == beast::error::timeout ||
           ec == asio::error::not_connected;
}

// NextLayer: GatedSocket for ws://, or beast::ssl_stream<beast::tcp_stream> for wss://.
template <class NextLayer>
class WebSocketSession final : public Subscriber,
                               public std::enable_shared_from_this<WebSocketSession<NextLayer>> {
public:
    WebSocketSession(ServerContext& ctx, Shard& shard, NextLayer next, SessionParams params)
        : ctx_(ctx),
          shard_(shard),
          ws_(std::move(next)),
          params_(params),
          queue_(ctx.options.outbound_limit_bytes),
          tokens_(ctx.options.client_rate * 2) {}

    ~WebSocketSession() {
        if (tap_id_) {
            // Our close, the peer's, or none at all (1006: the connection just dropped).
            int code = close_code_;
            std::string reason = close_reason_;
            if (!code && ws_.reason().code) {
                code = ws_.reason().code;
                reason = ws_.reason().reason.c_str();
            }
            ctx_.tap->session_closed(tap_id_, code ? code : 1006, reason, system_now_us());
        }
        if (flush_scheduled_) shard_.cancel_flush(this);
        queue_.clear();
        queue_.end_write();
        report_queued();
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
        ws_.async_accept(req, beast::bind_front_handler(&WebSocketSession::on_accept,
                                                        this->shared_from_this()));
    }

    // Subscriber
    void deliver(const MessagePtr& m) override {
        if (closing_) return;
        Sub* sub = find_sub(m->stream);
        // Skipped: already sent by a snapshot or resume, or to be sent by a resume under way.
        if (!sub || sub->catching_up || m->seq <= sub->last_seq) return;
        sub->last_seq = m->seq;
        send(m, shard_.write_at_once() ? Flush::now : Flush::end_of_turn);
    }

    void moved(StreamId stream, std::uint32_t slot) override { find_sub(stream)->slot = slot; }

    void on_stream_added(Stream* stream) override {
        // A stream born after a "*" subscription: every one of its messages is still to come.
        if (closing_ || !wildcard_ || find_sub(stream->id())) return;
        add_sub(stream, 0);
    }

    void close_for_shutdown() override { close(websocket::close_code::going_away, "server shutting down"); }

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

    struct Sub {
        Stream* stream;
        std::uint64_t last_seq;  // the newest seq sent (or skipped by conflation) to this client
        std::uint32_t slot;      // position in the shard's table for the stream
        bool catching_up = false;  // a resume is still sending history (refill())
    };

    void on_accept(beast::error_code ec) {
        if (ec) return fail(ec, "accept");
        // Frames are written by the session itself unless Beast may have to compress them
        // (--deflate) or encrypt them (wss://, which has no GatedSocket).
        direct_ = kGated && !ctx_.options.deflate;
        attached_ = true;
        shard_.session_add(this);
        shard_.counters().connections[index(params_.endpoint)].add();
        shard_.counters().connections_total.add();

        std::vector<std::string> channels;
        for (auto* s : ctx_.hub.streams_of(params_.endpoint)) channels.push_back(s->channel());
        ClockAnchor now = ctx_.hub.clock();
        const std::int64_t wall = system_now_us();
        const auto sim_elapsed =
            static_cast<std::int64_t>(static_cast<double>(wall - now.wall_us) / 1000.0 * now.scale);
        now.sim_ms += sim_elapsed;
        // `wall` is the instant of that whole simulated millisecond, not of the truncated moment
        // after it: a client maps a message's time to its due instant with the pair, which
        // otherwise put every due instant up to a millisecond late (and lateness that much low).
        now.wall_us = now.scale > 0 ? now.wall_us + std::llround(static_cast<double>(sim_elapsed) * 1000.0 / now.scale)
                                    : wall;
        // Subscribe before the welcome is written: a client holding the welcome is sure to get
        // every message published after it.
        Stream::Catchup snapshot;
        if (auto single = info(params_.endpoint).single_channel; !single.empty()) {
            if (Stream* s = ctx_.hub.find(params_.endpoint, single)) {
                snapshot = s->catchup(std::nullopt);
                add_sub(s, snapshot.last_seq);
            }
        }
        const auto id = fmt::format("{}-{}-{}", ctx_.instance, shard_.index(), shard_.next_session_number());
        if (ctx_.tap) {
            tap_id_ = ctx_.next_session_id.fetch_add(1);
            beast::error_code ec_peer;
            const auto peer = socket().remote_endpoint(ec_peer);
            ctx_.tap->session_opened({tap_id_, id, params_.endpoint,
                                      ec_peer ? std::string() : fmt::format("{}:{}", peer.address().to_string(), peer.port()),
                                      std::move(target_), system_now_us()});
        }
        send_control(welcome_json(params_.endpoint, id, channels, ctx_.options.heartbeat.count(), now,
                                  ctx_.hub.epoch()));
        for (auto& m : snapshot.messages) send(m);
        do_read();
    }

    tcp::socket& socket() {
        if constexpr (kGated) return ws_.next_layer().next_layer();
        else return beast::get_lowest_layer(ws_).socket();
    }

    // ---- reading -----------------------------------------------------------------------
    void do_read() {
        ws_.async_read(buffer_, beast::bind_front_handler(&WebSocketSession::on_read, this->shared_from_this()));
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
        if (tap_id_) ctx_.tap->frame_in(tap_id_, text, system_now_us());
        handle(text);
        buffer_.consume(buffer_.size());
        if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();  // keep idle connections small
        if (!closing_) do_read();
    }

    void handle(std::string_view text) {
        if (!take_token()) return send_error(ErrorCode::rate_limited, "too many messages: slow down");
        auto req = parse_client_message(text);
        if (auto* err = std::get_if<ProtocolError>(&req)) return send_error(err->code, err->message);
        if (auto* ping = std::get_if<PingRequest>(&req)) return send_control(pong_json(*ping));
        auto& sub = std::get<SubscribeRequest>(req);
        if (sub.subscribe) handle_subscribe(sub);
        else handle_unsubscribe(sub);
    }

    bool take_token() {
        const double rate = ctx_.options.client_rate;
        const auto now = std::chrono::steady_clock::now();
        const double elapsed = std::chrono::duration<double>(now - last_refill_).count();
        last_refill_ = now;
        tokens_ = std::min(rate * 2, tokens_ + elapsed * rate);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    // ---- subscriptions ---------------------------------------------------------------------
    void handle_subscribe(const SubscribeRequest& req) {
        std::vector<Stream*> targets;
        std::vector<std::string> known, unknown;
        bool star = false;
        auto add_target = [&](Stream* s) {
            if (std::find(targets.begin(), targets.end(), s) == targets.end()) targets.push_back(s);
        };
        for (const auto& name : req.channels) {
            if (name == "*") {
                star = true;
                for (auto* s : ctx_.hub.streams_of(params_.endpoint)) add_target(s);
            } else if (Stream* s = ctx_.hub.find(params_.endpoint, name)) {
                add_target(s);
            } else {
                unknown.push_back(name);
                continue;
            }
            if (std::find(known.begin(), known.end(), name) == known.end()) known.push_back(name);
        }
        if (!unknown.empty()) {
            send_error(ErrorCode::unknown_channel,
                       fmt::format("unknown channel{} on {}: {}", unknown.size() > 1 ? "s" : "",
                                   info(params_.endpoint).path, fmt::join(unknown, ", ")));
        }
        if (known.empty()) return;
        const auto fresh = std::count_if(targets.begin(), targets.end(),
                                         [&](Stream* s) { return !find_sub(s->id()); });
        if (subs_.size() + static_cast<std::size_t>(fresh) > ctx_.options.max_subscriptions) {
            return send_error(ErrorCode::too_many_subscriptions,
                              fmt::format("at most {} subscriptions per connection",
                                          ctx_.options.max_subscriptions));
        }
        if (star && !wildcard_) {
            wildcard_ = true;
            shard_.wildcard_add(params_.endpoint, this);
        }

        struct Plan {
            Stream* stream;
            std::optional<std::uint64_t> since;
            Stream::Catchup first;  // the snapshot, or the first chunk of a resume
        };
        std::vector<Plan> plans;
        std::map<std::string, bool> recovered;
        const bool foreign = foreign_epoch(req.epoch, ctx_.hub.epoch());  // recovers nothing
        for (Stream* s : targets) {
            std::optional<std::uint64_t> since;
            if (auto it = req.since.find(s->channel()); it != req.since.end()) since = it->second;
            if (find_sub(s->id()) && !since) continue;  // already subscribed: nothing to send
            Plan p{s, since, s->catchup_for_epoch(since, foreign, kCatchupChunk)};
            if (since) recovered[s->channel()] = !p.first.reset;
            plans.push_back(std::move(p));
        }
        send_control(subscribed_json(known, req.has_since ? &recovered : nullptr));
        for (auto& p : plans) {
            if (!find_sub(p.stream->id())) add_sub(p.stream, 0);
            Sub& sub = *find_sub(p.stream->id());
            if (p.first.reset) send_control(reset_json(p.stream->channel(), p.first.last_seq, p.first.reason));
            if (p.since && !p.first.reset) {
                // A resume: history is sent in order, paced by the queue (see refill()); live
                // messages of the stream wait in history until the resume has caught up.
                sub.last_seq = *p.since;
                set_catching_up(sub, *p.since < p.first.last_seq);
                continue;
            }
            for (auto& m : p.first.messages) send(m);
            sub.last_seq = std::max(sub.last_seq, p.first.last_seq);
            set_catching_up(sub, false);
        }
        refill();
    }

    // Moves history into the queue for every resuming subscription, up to half the outbound
    // bound, so that a resume longer than the bound never overflows it.
    void refill() {
        const std::size_t budget = ctx_.options.outbound_limit_bytes / 2;
        for (std::size_t i = 0; i < subs_.size() && catching_up_ > 0; ++i) {
            Sub& sub = subs_[i];
            while (sub.catching_up && !closing_ && queue_.bytes() < budget) {
                auto c = sub.stream->catchup(sub.last_seq, kCatchupChunk);
                if (c.reset) {  // the resume fell out of history while the client was slow
                    send_control(reset_json(sub.stream->channel(), c.last_seq));
                    for (auto& m : c.messages) send(m);
                    sub.last_seq = c.last_seq;
                    set_catching_up(sub, false);
                    break;
                }
                bool full = false;
                for (auto& m : c.messages) {
                    full = queue_.bytes() > 0 && queue_.bytes() + m->bytes.size() > budget;
                    if (full) break;
                    send(m);
                    sub.last_seq = m->seq;
                }
                if (sub.last_seq >= c.last_seq) set_catching_up(sub, false);
                if (full) break;  // the next write completion refills
            }
        }
    }

    void set_catching_up(Sub& sub, bool on) {
        if (sub.catching_up == on) return;
        sub.catching_up = on;
        if (on) ++catching_up_;
        else --catching_up_;
    }


    void handle_unsubscribe(const SubscribeRequest& req) {
        std::vector<std::string> known, unknown;
        for (const auto& name : req.channels) {
            if (name == "*") {
                if (wildcard_) shard_.wildcard_remove(params_.endpoint, this);
                wildcard_ = false;
                while (!subs_.empty()) remove_sub(subs_.size() - 1);
            } else if (Stream* s = ctx_.hub.find(params_.endpoint, name)) {
                for (std::size_t i = 0; i < subs_.size(); ++i)
                    if (subs_[i].stream == s) remove_sub(i);
            } else {
                unknown.push_back(name);
                continue;
            }
            known.push_back(name);
        }
        if (!unknown.empty())
            send_error(ErrorCode::unknown_channel,
                       fmt::format("unknown channel{} on {}: {}", unknown.size() > 1 ? "s" : "",
                                   info(params_.endpoint).path, fmt::join(unknown, ", ")));
        if (!known.empty()) send_control(unsubscribed_json(known));
    }

    Sub* find_sub(StreamId id) {
        for (auto& s : subs_)
            if (s.stream->id() == id) return &s;
        return nullptr;
    }

    void add_sub(Stream* s, std::uint64_t last_seq) {
        subs_.push_back({s, last_seq, shard_.table_add(s->id(), this), false});
    }

    void remove_sub(std::size_t i) {
        set_catching_up(subs_[i], false);
        shard_.table_remove(subs_[i].stream->id(), subs_[i].slot);
        subs_[i] = subs_.back();
        subs_.pop_back();
    }

    // Leaves every table of the shard. Never called while the shard iterates a table.
    void detach() {
        if (detached_) return;
        detached_ = true;
        while (!subs_.empty()) remove_sub(subs_.size() - 1);
        if (wildcard_) shard_.wildcard_remove(params_.endpoint, this);
        if (attached_) {
            shard_.session_remove(this);
            shard_.counters().connections[index(params_.endpoint)].sub();
        }
    }

    // ---- writing -----------------------------------------------------------------------
    void send_control(std::string json) { send(make_control(std::move(json))); }

    void send_error(ErrorCode code, std::string_view message) {
        shard_.counters().errors_sent.add();
        send_control(error_json(code, message));
        if (++errors_ > ctx_.options.max_errors)
            close(websocket::close_code::policy_error, "too many errors");
    }

    enum class Flush { now, end_of_turn };

    void send(const MessagePtr& m, Flush when = Flush::end_of_turn) {
        if (closing_) return;
        const auto before = queue_.conflated();
        switch (queue_.push(m)) {
            case PushResult::overflow:
                shard_.counters().slow_consumer_closes.add();
                return close(websocket::close_code::try_again_later, "slow consumer");
            case PushResult::conflated:
                shard_.counters().conflated.add(queue_.conflated() - before);
                break;
            case PushResult::queued: break;
        }
        report_queued();
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

    void write_now() {
        if (direct_) write_gathered();
        else do_write();
    }

    // Keeps the shard's queued-bytes gauge equal to the sum of its sessions' queues.
    void report_queued() {
        const std::size_t now = queue_.bytes();
        if (now > reported_queued_) shard_.counters().queued_bytes.add(now - reported_queued_);
        else shard_.counters().queued_bytes.sub(reported_queued_ - now);
        reported_queued_ = now;
        if (const bool over = now > ctx_.options.outbound_limit_bytes / 2; over != pressured_) {
            pressured_ = over;
            if (over) shard_.counters().pressured_sessions.add();
            else shard_.counters().pressured_sessions.sub();
        }
    }

    // ---- writing through Beast (wss://, --deflate): one frame per write --------------------
    void do_write() {
        if (queue_.writing() || !queue_.has_queued() || closing_) return;
        auto batch = queue_.begin_write(params_.batch ? kBatchMaxMessages : 1, kBatchMaxBytes,
                                        /*control_alone=*/true);
        if (batch.size() == 1) {
            ws_.async_write(asio::buffer(batch[0]->bytes),
                            beast::bind_front_handler(&WebSocketSession::on_write, this->shared_from_this()));
        } else {
            batch_buffer_.clear();
            batch_buffer_ += '[';
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (i) batch_buffer_ += ',';
                batch_buffer_ += batch[i]->bytes;
            }
            batch_buffer_ += ']';
            ws_.async_write(asio::buffer(batch_buffer_),
                            beast::bind_front_handler(&WebSocketSession::on_write, this->shared_from_this()));
        }
        // The write starts inside async_write (Asio tries the send at once).
        observe_latency(batch);
    }

    void on_write(beast::error_code ec, std::size_t bytes) {
        if (ec) return fail(ec, "write");
        written(bytes);
        if (batch_buffer_.capacity() > kBatchMaxBytes * 2) std::string().swap(batch_buffer_);
        do_write();
    }

    // ---- writing on plain connections: every queued frame in one sendmsg ------------------
    // The frames are gathered straight from the shared messages and their pre-encoded headers,
    // so nothing is copied. With ?batch=1, each run of data messages becomes one array frame
    // ('[', the messages, ',' and ']' gathered too); a control message keeps a frame of its own.
    void write_gathered() {
        if constexpr (kGated) {
            if (closing_ || queue_.writing() || !queue_.has_queued()) return;
            if (!ws_.next_layer().session_may_write()) return;  // Beast's write ends: on_beast_idle
            const auto batch = queue_.begin_write(params_.batch ? kBatchMaxMessages : kGatherMaxFrames,
                                                  params_.batch ? kBatchMaxBytes : kGatherMaxBytes);
            gather_payload_ = 0;
            gather_total_ = 0;
            if (params_.batch) {
                segments_.clear();
                for (std::size_t i = 0; i < batch.size();) {
                    std::size_t end = i + 1, payload = batch[i]->bytes.size();
                    if (batch[i]->stream != kNoStream)
                        for (; end < batch.size() && batch[end]->stream != kNoStream; ++end)
                            payload += batch[end]->bytes.size();
                    const std::size_t count = end - i;
                    if (count > 1) payload += count + 1;  // '[', the commas, ']'
                    segments_.push_back({static_cast<std::uint16_t>(i), static_cast<std::uint16_t>(count),
                                         count > 1 ? text_frame_header(payload) : batch[i]->header});
                    gather_payload_ += payload;
                    gather_total_ += segments_.back().header.size + payload;
                    i = end;
                }
            } else {
                for (const auto& m : batch) {
                    gather_payload_ += m->bytes.size();
                    gather_total_ += m->header.size + m->bytes.size();
                }
            }
            gather_sent_ = 0;
            observe_latency(batch);
            send_gathered();
        }
    }

    // Sends what is left of the in-flight frames; waits for the socket if it cannot take it all.
    void send_gathered() {
        if constexpr (kGated) {
            // At most 3 per message: an array of n messages takes 2n + 2 (n >= 2), a frame alone 2.
            std::array<iovec, 3 * kBatchMaxMessages> iov;
            std::size_t count = 0, skip = gather_sent_;
            auto add = [&](const void* data, std::size_t size) {
                if (skip >= size) {
                    skip -= size;
                    return;
                }
                iov[count++] = {const_cast<char*>(static_cast<const char*>(data)) + skip, size - skip};
                skip = 0;
            };
            const auto frames = queue_.inflight();
            if (params_.batch) {
                for (const auto& seg : segments_) {
                    add(seg.header.bytes.data(), seg.header.size);
                    for (std::size_t i = seg.first; i < seg.first + seg.count; ++i) {
                        if (seg.count > 1) add(i == seg.first ? "[" : ",", 1);
                        add(frames[i]->bytes.data(), frames[i]->bytes.size());
                    }
                    if (seg.count > 1) add("]", 1);
                }
            } else {
                for (const auto& m : frames) {
                    add(m->header.bytes.data(), m->header.size);
                    add(m->bytes.data(), m->bytes.size());
                }
            }
            msghdr msg{};
            msg.msg_iov = iov.data();
            msg.msg_iovlen = count;
            const ssize_t n = ::sendmsg(socket().native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
            shard_.counters().socket_writes.add();
            auto& gate = ws_.next_layer();
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                const beast::error_code ec(errno, beast::system_category());
                gate.release();
                return fail(ec, "write");
            }
            if (n > 0) gather_sent_ += static_cast<std::size_t>(n);
            if (gather_sent_ == gather_total_) {
                gate.release();
                written(gather_payload_);
                if (segments_.capacity() > 16 && !queue_.has_queued()) std::vector<Segment>().swap(segments_);
                return schedule_flush();
            }
            // Part-way out: Beast's frames wait until the rest of ours is on the wire.
            gate.hold();
            socket().async_wait(tcp::socket::wait_write, [self = this->shared_from_this()](beast::error_code ec) {
                if (!ec) return self->send_gathered();
                self->ws_.next_layer().release();
                self->fail(ec, "write");
            });
        }
    }

    // Latency histogram: publish → the write of the message started.
    void observe_latency(std::span<const MessagePtr> batch) {
        const std::int64_t now = steady_now_us();
        for (const auto& m : batch)
            if (m->stream != kNoStream)
                shard_.counters().observe_latency(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - m->published_us)));
    }

    // The in-flight messages are on the wire: as one frame through Beast, as the segments of a
    // gathered ?batch=1 write, or each as a frame of its own. `payload` excludes frame headers.
    void written(std::size_t payload) {
        auto& c = shard_.counters();
        const auto sent = queue_.inflight();
        const bool one_frame = !direct_, segmented = direct_ && params_.batch;
        c.frames_sent.add(one_frame ? 1 : segmented ? segments_.size() : sent.size());
        c.bytes_sent.add(payload);
        if (tap_id_) {
            const auto now = system_now_us();
            if (one_frame) ctx_.tap->frame_out(tap_id_, sent.data(), sent.size(), now);
            else if (segmented)
                for (const auto& seg : segments_) ctx_.tap->frame_out(tap_id_, &sent[seg.first], seg.count, now);
            else ctx_.tap->frames_out(tap_id_, sent.data(), sent.size(), now);
        }
        for (const auto& m : sent)
            if (m->stream != kNoStream) c.messages_sent.add();
        queue_.end_write();
        report_queued();
        refill();
    }

    // ---- closing -------------------------------------------------------------------------
    void close(websocket::close_code code, std::string_view reason) {
        if (closing_) return;
        closing_ = true;
        if (!ws_.reason().code) {  // else the peer closed first, and its code is the one recorded
            close_code_ = static_cast<int>(code);
            close_reason_ = reason;
        }
        queue_.clear();
        report_queued();
        // Leave the shard's tables later: we may be inside the shard's delivery loop right now.
        asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->detach(); });
        ws_.async_close(websocket::close_reason(code, reason),
                        [self = this->shared_from_this()](beast::error_code ec) {
                            if (ec) self->fail(ec, "close");
                        });
    }

    void fail(beast::error_code ec, const char* what) {
        if (!closing_) {
            closing_ = true;
            queue_.clear();
            report_queued();
            asio::post(ws_.get_executor(), [self = this->shared_from_this()] { self->detach(); });
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
    std::string batch_buffer_;
    // The gathered write in flight (plain connections): its size with and without the frame
    // headers, how much of it is on the wire, and the header of a ?batch=1 array frame.
    bool direct_ = false;
    bool flush_scheduled_ = false;  // in the shard's list of connections to write this turn
    std::size_t gather_total_ = 0;
    std::size_t gather_payload_ = 0;
    std::size_t gather_sent_ = 0;
    // With ?batch=1, the frames of the gathered write: runs of data messages, control ones alone.
    struct Segment {
        std::uint16_t first, count;
        FrameHeader header;
    };
    std::vector<Segment> segments_;
    std::vector<Sub> subs_;
    bool wildcard_ = false;
    bool attached_ = false;
    bool detached_ = false;
    bool closing_ = false;
    std::size_t errors_ = 0;
    std::size_t reported_queued_ = 0;
    bool pressured_ = false;  // counted in the shard's pressured_sessions
    std::size_t catching_up_ = 0;  // subscriptions with a resume under way
    // Recording (only when the server has a tap): the tap's session id, the upgrade target
    // until the welcome, and the close code this side chose.
    std::uint64_t tap_id_ = 0;
    std::string target_;
    int close_code_ = 0;
    std::string close_reason_;
    double tokens_;
    std::chrono::steady_clock::time_point last_refill_ = std::chrono::steady_clock::now();
};

}  // namespace

void start_websocket_session(ServerContext& ctx, Shard& shard, tcp::socket socket,
                             http::request<http::string_body> request, SessionParams params) {
    std::make_shared<WebSocketSession<GatedSocket>>(ctx, shard, GatedSocket(std::move(socket)), params)
        ->run(std::move(request));
}

void start_websocket_session(ServerContext& ctx, Shard& shard, beast::ssl_stream<beast::tcp_stream> stream,
                             http::request<http::string_body> request, SessionParams params) {
    using Tls = beast::ssl_stream<beast::tcp_stream>;
    std::make_shared<WebSocketSession<Tls>>(ctx, shard, std::move(stream), params)->run(std::move(request));
}

}  // namespace streambed::engine
