// client.cpp: a fleet client's connection lifecycle — wait, connect, upgrade by hand, read
// frames, answer pings, notice silence, lose the connection, back off and come back.
#include "fleet/client.hpp"

#include <fmt/format.h>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "fleet/fleet.hpp"
#include "fleet/frame_writer.hpp"

namespace streambed::fleet {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// The Host header's value: the name as given, an IPv6 address in brackets.
std::string host_header(const std::string& host) {
    return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

Clock::duration ThreadContext::wall(Millis simulated) const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double, std::milli>(static_cast<double>(simulated.count()) / scale));
}

Bucket* ThreadContext::bucket_now() {
    const double sim_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count() * scale;
    const auto i = static_cast<std::size_t>(sim_ms / static_cast<double>(options->bucket.count()));
    if (i >= 100'000) return nullptr;  // a bound on memory for runs far past their duration
    if (i >= buckets.size()) buckets.resize(i + 1);
    return &buckets[i];
}

Client::Client(ThreadContext& ctx, std::size_t group, const ClientGroup& spec, std::size_t index,
               std::vector<Destination> targets, std::size_t first, std::uint64_t seed)
    : ctx_(ctx),
      group_(group),
      spec_(spec),
      index_(index),
      targets_(std::move(targets)),
      at_(first % targets_.size()),
      rng_(seed ^ (0x9e3779b97f4a7c15ULL * (group + 1)) ^ (0xbf58476d1ce4e5b9ULL * (index + 1))),
      sock_(ctx.ioc),
      retry_timer_(ctx.ioc),
      connect_timer_(ctx.ioc),
      dead_timer_(ctx.ioc),
      behave_timer_(ctx.ioc),
      read_timer_(ctx.ioc),
      poll_timer_(ctx.ioc) {}

void Client::begin(Clock::duration delay) {
    if (state_ != State::idle) return;
    state_ = State::waiting;
    retry_timer_.expires_after(delay);
    retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->state_ != State::waiting) return;
        self->ctx_.waiting.push_back(self);
        self->handshake_done();  // takes a slot if one is free (no handshake of ours in flight)
    });
}

// The thread's gate: at most connect_concurrency handshakes in flight; the next waiting client
// starts when one ends.
void Client::handshake_done() {
    if (in_handshake_) {
        in_handshake_ = false;
        --ctx_.handshakes;
    }
    while (ctx_.handshakes < ctx_.options->connect_concurrency && !ctx_.waiting.empty()) {
        auto next = ctx_.waiting.front().lock();
        ctx_.waiting.pop_front();
        if (next && next->state_ == State::waiting) next->start_handshake();
    }
}

void Client::start_handshake() {
    in_handshake_ = true;
    ++ctx_.handshakes;
    state_ = State::connecting;
    ++attempt_;
    const unsigned gen = ++gen_;
    upgraded_ = writing_ = reading_ = paused_ = false;
    reader_ = FrameReader(std::size_t{64} << 20);
    outbox_.clear();
    tls_.reset();
    if (target().tls) {
        tls_ = std::make_shared<TlsStream>(sock_, *ctx_.tls);
        prepare_tls_stream(*tls_, target().host, ctx_.options->tls.verify);
    }
    connect_timer_.expires_after(ctx_.options->connect_timeout);
    connect_timer_.async_wait([self = shared_from_this(), gen](error_code ec) {
        if (!ec && gen == self->gen_ && self->state_ == State::connecting)
            self->lost("no welcome in time");
    });
    if (spec_.reading.mode != Reading::Mode::normal) {
        // A slow or stalled reader with a small receive window, as on a poor mobile link: the
        // server's bound is reached in seconds, not after megabytes of kernel buffering.
        error_code ec;
        sock_.open(target().endpoint.protocol(), ec);
        if (!ec) sock_.set_option(asio::socket_base::receive_buffer_size(4096), ec);
    }
    sock_.async_connect(target().endpoint, [self = shared_from_this(), gen](error_code ec) {
        self->on_connect(ec, gen);
    });
}

void Client::on_connect(error_code ec, unsigned gen) {
    if (gen != gen_ || state_ != State::connecting) return;
    if (ec) return lost("connect: " + ec.message());
    sock_.set_option(tcp::no_delay(true), ec);
    if (!tls_) return send_upgrade();
    tls_->async_handshake(asio::ssl::stream_base::client,
                          [self = shared_from_this(), gen, tls = tls_](error_code hec) {
                              if (gen != self->gen_ || self->state_ != State::connecting) return;
                              if (hec)
                                  return self->lost("TLS handshake: " + tls_failure(*tls, hec));
                              self->send_upgrade();
                          });
}

// The upgrade request, written by hand; then the response and the frames are read.
void Client::send_upgrade() {
    std::string query;
    if (spec_.batch) query += "batch=1";
    if (!ctx_.options->token.empty())
        query += (query.empty() ? "" : "&") + ("token=" + ctx_.options->token);
    outbox_ = fmt::format(
        "GET {}{}{} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "X-Streambed-Client: {}/{}/{}\r\n{}{}{}{}\r\n",
        spec_.endpoint, query.empty() ? "" : "?", query, host_header(target().host), spec_.name,
        index_, attempt_,
        spec_.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                      : "",
        ctx_.options->origin.empty() ? "" : "Origin: ", ctx_.options->origin,
        ctx_.options->origin.empty() ? "" : "\r\n");
    flush_outbox();
    last_read_ = Clock::now();
    if (spec_.reading.mode == Reading::Mode::never) {
        // Reads nothing, ever: the server's bound for this connection is what is being tested.
        handshake_done();
        return;
    }
    do_read();
}

void Client::do_read() {
    if (reading_ || paused_ || state_ == State::stopped || state_ == State::waiting) return;
    std::size_t room = 16 * 1024;
    if (spec_.reading.mode == Reading::Mode::slow && upgraded_)
        room = 1024;  // small reads, paced below
    auto buf = reader_.prepare(room);
    reading_ = true;
    const auto b = asio::buffer(buf.data(), std::min(buf.size(), room));
    if (tls_) {
        tls_->async_read_some(b, [self = shared_from_this(), gen = gen_, tls = tls_](
                                     error_code ec, std::size_t n) { self->on_read(ec, n, gen); });
        return;
    }
    sock_.async_read_some(b, [self = shared_from_this(), gen = gen_](error_code ec, std::size_t n) {
        self->on_read(ec, n, gen);
    });
}

void Client::on_read(error_code ec, std::size_t n, unsigned gen) {
    if (gen != gen_) return;
    reading_ = false;
    if (ec) return lost("connection lost: " + ec.message());
    last_read_ = Clock::now();
    const std::int64_t received = wall_now_us();
    reader_.commit(n);
    if (!upgraded_ && !read_upgrade()) return;
    while (upgraded_ && gen == gen_) {
        const auto r = reader_.next();
        if (r.status == FrameReader::Status::need_more) break;
        if (r.status == FrameReader::Status::error) return lost("a malformed frame");
        switch (r.frame.kind) {
            case FrameKind::text:
            case FrameKind::binary:
                if (state_ != State::live) {
                    if (!on_welcome(r.frame.payload))
                        return lost("the first message is not a welcome");
                } else {
                    on_text(r.frame.payload, received);
                }
                break;
            case FrameKind::ping:
                send_frame(0xA, r.frame.payload);
                break;
            case FrameKind::pong:
                break;
            case FrameKind::close: {
                int code = 1005;
                if (r.frame.payload.size() >= 2)
                    code = (static_cast<std::uint8_t>(r.frame.payload[0]) << 8) |
                           static_cast<std::uint8_t>(r.frame.payload[1]);
                ++ctx_.totals[group_].closes[code];
                send_frame(0x8, r.frame.payload.substr(0, 2));  // echo the code, then drop
                const auto reason =
                    r.frame.payload.size() > 2 ? r.frame.payload.substr(2) : std::string_view{};
                return lost(fmt::format("closed by the server: {}{}{}", code,
                                        reason.empty() ? "" : " ", reason));
            }
        }
    }
    if (gen != gen_ || state_ == State::stopped) return;
    if (spec_.reading.mode == Reading::Mode::slow && upgraded_ &&
        spec_.reading.bytes_per_second > 0) {
        read_timer_.expires_after(
            std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                static_cast<double>(n) / spec_.reading.bytes_per_second)));
        read_timer_.async_wait([self = shared_from_this(), gen](error_code e) {
            if (!e && gen == self->gen_) self->do_read();
        });
        return;
    }
    do_read();
}

// The HTTP response ahead of the frames: 101 goes on; 503 counts as refused (Retry-After kept
// for the backoff); anything else failed. False when not (yet) upgraded.
bool Client::read_upgrade() {
    const auto head = reader_.unparsed();
    const auto end = head.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        if (head.size() > 16 * 1024) return lost("upgrade: the response is too large"), false;
        do_read();
        return false;
    }
    const auto response = head.substr(0, end);
    if (!response.starts_with("HTTP/1.1 101")) {
        const bool refused = response.starts_with("HTTP/1.1 503");
        retry_after_ = {};
        if (auto ra = response.find("Retry-After: "); refused && ra != std::string_view::npos) {
            int seconds = 0;
            const char* p = response.data() + ra + 13;
            std::from_chars(p, response.data() + response.size(), seconds);
            retry_after_ = std::chrono::seconds(std::clamp(seconds, 0, 60));
        }
        lost("upgrade refused: " + std::string(response.substr(0, response.find("\r\n"))), refused);
        return false;
    }
    if (response.find("permessage-deflate") != std::string_view::npos) reader_.enable_inflate();
    reader_.consume(end + 4);
    upgraded_ = true;
    return true;
}

// The connection is gone (or never came): count it and why, then back off and come back, or stop.
void Client::lost(const std::string& why, bool refused) {
    auto& t = ctx_.totals[group_];
    if (state_ == State::live) {
        (*ctx_.connected)[group_].fetch_sub(1, std::memory_order_relaxed);
        if (lost_at_us_ == 0) lost_at_us_ = steady_now_us();
        ++t.lost;
        ++t.reasons["dropped: " + why];
    } else if (state_ == State::connecting) {
        ++t.failed;
        if (refused) ++t.refused;
        ++failures_;
        ++t.reasons["failed: " + why];
    }
    // Another server may serve this client (a cluster's node): the next one gets the next try.
    if (state_ == State::live || state_ == State::connecting) at_ = (at_ + 1) % targets_.size();
    if (in_handshake_) handshake_done();
    close_socket();
    if (state_ == State::stopped) return;
    if (leaving_ || !spec_.reconnect.enabled) {
        state_ = State::stopped;
        return;
    }
    state_ = State::waiting;
    // Refused (503): poll at once; other failures: once the upgrade has failed twice in a row.
    if (spec_.polling_fallback && (refused || failures_ >= 2) && !polling_) start_polling();
    schedule_retry(refused ? retry_after_ : Clock::duration{});
}

void Client::schedule_retry(Clock::duration at_least) {
    const auto min = spec_.reconnect.min.count();
    const double cap =
        std::min<double>(static_cast<double>(spec_.reconnect.max.count()),
                         static_cast<double>(min) * std::pow(2.0, std::min(failures_, 30u) + 1));
    const Millis delay{static_cast<std::int64_t>(
        rng_.uniform(static_cast<double>(min), std::max<double>(cap, min)))};
    retry_timer_.expires_after(std::max(ctx_.wall(delay), at_least));
    retry_timer_.async_wait([self = shared_from_this()](error_code ec) {
        if (ec || self->state_ != State::waiting) return;
        self->ctx_.waiting.push_back(self);
        self->handshake_done();
    });
}

void Client::arm_dead_timer() {
    // Silence past twice the heartbeat: the server pings idle connections, so this one is dead.
    const auto limit = std::chrono::milliseconds(2 * heartbeat_ms_);
    dead_timer_.expires_after(limit / 2);
    dead_timer_.async_wait([self = shared_from_this(), gen = gen_, limit](error_code ec) {
        if (ec || gen != self->gen_ || self->state_ != State::live) return;
        if (self->paused_ || self->spec_.reading.mode != Reading::Mode::normal)
            return self->arm_dead_timer();
        if (Clock::now() - self->last_read_ > limit) {
            ++self->ctx_.totals[self->group_].dead;
            return self->lost("silent past twice the heartbeat");
        }
        self->arm_dead_timer();
    });
}

void Client::start_misbehaving() {
    const auto& m = spec_.misbehave;
    if (m.kind == Misbehaviour::Kind::none) return;
    if (m.kind == Misbehaviour::Kind::oversized) {
        send_frame(0x1, std::string(m.bytes, 'x'));
        return;
    }
    behave_timer_.expires_after(
        ctx_.wall(Millis{static_cast<std::int64_t>(1000.0 / std::max(m.per_second, 0.001))}));
    behave_timer_.async_wait([self = shared_from_this(), gen = gen_](error_code ec) {
        if (ec || gen != self->gen_ || self->state_ != State::live) return;
        if (self->spec_.misbehave.kind == Misbehaviour::Kind::malformed_json)
            self->send_frame(0x1, R"({"action":"subscribe","channels":[)");
        else
            self->send_frame(0x1, R"({"action":"ping","id":1})");
        self->start_misbehaving();
    });
}

void Client::leave(bool by_event) {
    leaving_ = true;
    left_by_event_ = left_by_event_ || by_event;
    if (state_ == State::live) {
        send_frame(0x8, "\x03\xe8");  // 1000, then the socket goes with the server's answer
        (*ctx_.connected)[group_].fetch_sub(1, std::memory_order_relaxed);
    }
    if (in_handshake_) handshake_done();
    state_ = State::stopped;
    retry_timer_.cancel();
    poll_timer_.cancel();
    behave_timer_.cancel();
    dead_timer_.cancel();
    polling_ = false;
}

void Client::drop() {
    if (state_ == State::live) lost("reset by the run");
}

// A client frame: masked (RFC 6455 §5.3), queued behind any write under way.
void Client::send_frame(std::uint8_t opcode, std::string_view payload) {
    append_client_frame(outbox_, opcode, payload, static_cast<std::uint32_t>(rng_.next()));
    flush_outbox();
}

void Client::flush_outbox() {
    if (writing_ || outbox_.empty() || !sock_.is_open()) return;
    writing_ = true;
    in_flight_.swap(outbox_);
    outbox_.clear();
    auto done = [self = shared_from_this(), gen = gen_](error_code ec, std::size_t) {
        if (gen != self->gen_) return;
        self->writing_ = false;
        if (ec) return;  // the read side notices and counts the loss
        self->flush_outbox();
    };
    if (tls_) {
        asio::async_write(*tls_, asio::buffer(in_flight_),
                          [done, tls = tls_](error_code ec, std::size_t n) { done(ec, n); });
        return;
    }
    asio::async_write(sock_, asio::buffer(in_flight_), std::move(done));
}

void Client::close_socket() {
    ++gen_;  // every handler of this connection is now stale
    error_code ignored;
    sock_.close(ignored);
    connect_timer_.cancel();
    dead_timer_.cancel();
    behave_timer_.cancel();
    read_timer_.cancel();
    upgraded_ = writing_ = reading_ = false;
}

}  // namespace streambed::fleet
