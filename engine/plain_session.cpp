// plain_session.cpp: the transport of ws:// connections without an extension — frames of our
// own (ws_frames) straight on the socket, around the protocol side (session.cpp). Every write
// is one gathered sendmsg of what is due (gathered_writer); reads go through one buffer per
// thread, so an idle connection holds no buffer at all (docs/architecture.md, "A connection's
// memory").
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <vector>

#include "engine/access.hpp"
#include "engine/beast_session.hpp"
#include "engine/gathered_writer.hpp"
#include "engine/send_ring.hpp"
#include "engine/session.hpp"
#include "engine/ws_frames.hpp"

namespace streambed::engine {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// Bound to the shard's io_context itself, not a polymorphic executor: the socket and every
// operation pending on it are smaller (docs/architecture.md, "A connection's memory").
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;

// The accepted socket, moved onto the shard's io_context with the narrower executor type.
Socket adopt(asio::io_context& ioc, tcp::socket socket) {
    error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    const auto fd = socket.release(ec);
    if (ec) return Socket(ioc);  // closed: the session's first read ends it
    return Socket(ioc, protocol, fd);
}

// One read takes at most this much; a frame larger than what is left of it waits in the
// connection's own buffer for the rest (a message is bounded by --inbound-limit).
constexpr std::size_t kReadChunk = 16 << 10;
// What a closing connection swallows of a peer still sending (the rest of a refused message
// many times the default inbound limit) before it gives up on the peer's end of stream.
constexpr std::size_t kDrainLimit = std::size_t{4} << 20;

// Reads of every connection of a thread land here first: a connection keeps only what is left
// of a frame that has not fully arrived.
std::span<char> read_chunk() {
    thread_local std::unique_ptr<char[]> chunk(new char[kReadChunk]);
    return {chunk.get(), kReadChunk};
}

class PlainSession final : public Session, private SendRing::Sender {
  public:
    PlainSession(ServerContext& ctx, Shard& shard, tcp::socket socket, SessionParams params)
        : Session(ctx, shard, params),
          socket_(adopt(shard.ioc(), std::move(socket))),
          phase_(shard.next_session_number() % Shard::kHeartbeatPhases),
          reader_(ctx.options.inbound_limit_bytes),
          writer_(params.batch) {}

    // A close frame of the peer's was recorded as it arrived (SessionMeter::closing).
    ~PlainSession() override { meter_.closed(0, {}); }

    void run(const http::request<http::string_body>& req) {
        wire_ = upgrade_response(std::string_view(req[http::field::sec_websocket_key]));
        error_code ec;
        socket_.non_blocking(true, ec);
        const auto peer = socket_.remote_endpoint(ec);
        // The welcome (and snapshot) are queued after the 101 and leave in the same write.
        // Recorded without the auth token's value (the Authorization header is not recorded).
        opened(ec ? std::string() : peer.address().to_string() + ":" + std::to_string(peer.port()),
               ctx_.tap ? redact_target(std::string_view(req.target())) : std::string());
        write_now();
        do_read();
    }

  private:
    std::shared_ptr<PlainSession> self() {
        return std::static_pointer_cast<PlainSession>(shared_from_this());
    }

    // ---- reading -------------------------------------------------------------------------
    void do_read() {
        socket_.async_wait(Socket::wait_read,
                           [self = self()](error_code ec) { self->on_readable(ec); });
    }

    void on_readable(error_code ec) {
        if (ec) return end(ec, "read");
        const auto chunk = read_chunk();
        for (;;) {
            const std::size_t n = socket_.read_some(asio::buffer(chunk.data(), chunk.size()), ec);
            if (ec == asio::error::would_block) break;
            // The peer's end of stream: expected once closing, a dropped connection before.
            if (ec) return end(closing_ && ec == asio::error::eof ? error_code() : ec, "read");
            heard_ = true;
            if (closing_) {
                drained_ += n;
                if (drained_ > kDrainLimit) return end({}, "drain");
            } else {
                consume(chunk.first(n));
            }
            if (n < chunk.size()) break;
        }
        do_read();
    }

    // The complete frames of what arrived; the start of an incomplete one is kept.
    void consume(std::span<char> arrived) {
        std::span<char> bytes = arrived;
        if (!partial_.empty()) {
            partial_.append(arrived.data(), arrived.size());
            bytes = {partial_.data(), partial_.size()};
        }
        std::size_t used = 0;
        while (!closing_) {
            const auto step = reader_.step(bytes.subspan(used));
            if (step.status == ReadStep::need_more) break;
            used += step.used;
            if (step.status == ReadStep::produced) on_event(step.event);
        }
        if (closing_) {
            std::string().swap(partial_);
        } else if (partial_.empty()) {
            partial_.assign(bytes.data() + used, bytes.size() - used);
        } else {
            partial_.erase(0, used);
            if (partial_.empty()) std::string().swap(partial_);
        }
        if (!reader_.in_message()) reader_.release();
    }

    void on_event(const ReadEvent& e) {
        switch (e.kind) {
            case ReadEvent::text:
            case ReadEvent::binary:
                on_message(e.payload, e.kind == ReadEvent::binary);
                // The replies leave before the next message of the same read is handled, as
                // they would if it had come in a read of its own: a close it causes (1008)
                // drops only what was queued after them.
                return write_now();
            case ReadEvent::ping:
                wire_.append(pong_frame(e.payload));
                return write_now();
            case ReadEvent::pong:
                return;  // heard_ is set: the heartbeat is answered
            case ReadEvent::close:
                peer_code_ = e.code;
                meter_.closing(e.code, e.payload);  // the peer's code is the one recorded
                return close(static_cast<CloseCode>(e.code), {});
            case ReadEvent::failed:
                return close(static_cast<CloseCode>(e.code), e.payload);
        }
    }

    // ---- heartbeat and the closing deadline ---------------------------------------------
    // Beast's rule, kept: a connection silent for one heartbeat is pinged, one silent for two
    // is dropped. The shard ticks for all its sessions; this one acts on its phase's ticks.
    void heartbeat(std::uint64_t tick) override {
        if (tick % Shard::kHeartbeatPhases != phase_ || closing_) return;
        if (heard_) {
            heard_ = false;
            pinged_ = false;
        } else if (!pinged_) {
            pinged_ = true;
            wire_.append(ping_frame({}));
            write_now();
        } else {
            end({}, "heartbeat");  // silent past the idle timeout: dropped, as Beast does
        }
    }

    // A peer that never finishes the closing handshake is dropped after the handshake timeout
    // (the timer exists only while closing).
    void arm_close_deadline() {
        close_timer_ = std::make_unique<Timer>(socket_.get_executor());
        close_timer_->expires_after(ctx_.options.handshake_timeout);
        close_timer_->async_wait(
            [weak = std::weak_ptr<Session>(shared_from_this())](error_code ec) {
                if (auto s = weak.lock(); s && !ec) static_cast<PlainSession&>(*s).end({}, "close");
            });
    }

    // ---- writing: every queued frame in one sendmsg --------------------------------------
    void write_now() override {
        // A connection that ended while its send was in the ring writes nothing more.
        if (writing_ || in_ring_ || !socket_.is_open()) return;
        std::span<const MessagePtr> batch;
        if (!closing_ && queue_.has_queued())
            batch = queue_.begin_write(writer_.max_messages(), writer_.max_bytes());
        if (batch.empty() && wire_.empty()) return;
        wire_.swap(wire_inflight_);
        wire_.clear();
        close_inflight_ = close_queued_;
        writer_.plan(batch, wire_inflight_);
        meter_.write_started(batch);
        writing_ = true;
        send_gathered();
    }

    // Sends what is left of the write: in one of the shard's loops it joins the others' writes
    // in the shard's ring, elsewhere it goes at once.
    void send_gathered() {
        if (auto* ring = shard_.send_ring()) {
            const auto iov = ring->room(kGatherMaxIovecs);
            if (iov.size() >= kGatherMaxIovecs) {
                // Before add(): the send that fills the ring submits it at once, and this
                // session hears its result (sent()) before add() returns.
                in_ring_ = true;
                ring->add(socket_.native_handle(), writer_.iovecs(queue_.inflight(), iov), this,
                          shared_from_this());
                return;
            }
        }
        after_send(writer_.send(socket_.native_handle(), queue_.inflight()));
    }

    // SendRing::Sender: the ring's send of this connection's write is done.
    void sent(long result) override {
        in_ring_ = false;
        if (!writing_) return close_socket();  // ended meanwhile: the socket is closed now
        after_send(writer_.settle(result));
    }

    // Waits for the socket if it could not take the whole write.
    void after_send(GatherProgress progress) {
        shard_.counters().socket_writes.add();
        if (progress.status == GatherProgress::failed)
            return end(error_code(progress.error, boost::system::system_category()), "write");
        if (progress.status == GatherProgress::done) return write_done();
        socket_.async_wait(Socket::wait_write, [self = self()](error_code ec) {
            if (ec) return self->end(ec, "write");
            self->send_gathered();
        });
    }

    void write_done() {
        writing_ = false;
        if (!queue_.inflight().empty()) meter_.written_gathered(queue_.inflight(), writer_);
        written();
        // The upgrade's response, pings, pongs: rare, so their buffer is not kept.
        if (!wire_inflight_.empty()) std::string().swap(wire_inflight_);
        if (!queue_.has_queued()) writer_.trim();
        if (close_inflight_) return half_close();
        if (!wire_.empty()) return write_now();
        schedule_flush(Flush::end_of_turn);
    }

    // ---- closing -------------------------------------------------------------------------
    void close_transport(CloseCode code, std::string_view reason) override {
        wire_.append(close_frame(code, reason));
        close_queued_ = true;
        arm_close_deadline();
        write_now();
    }

    bool peer_closed_first() const override { return peer_code_ != 0; }

    // Our close frame is out: nothing more is sent. What the peer still sends is drained until
    // its end of stream (its close frame among it), so that it reads our close frame rather than
    // a reset; the closing deadline bounds the wait.
    void half_close() {
        error_code ignored;
        socket_.shutdown(Socket::shutdown_send, ignored);
    }

    // The connection is over: the socket closes, its pending operations end. A send in the
    // shard's ring still names the socket's fd: the socket closes once it is done, so that the
    // fd is never another connection's by then.
    void end(error_code ec, const char* what) {
        writing_ = false;
        fail(ec == asio::error::operation_aborted ? error_code() : ec, what);
        if (!in_ring_) close_socket();
    }

    void close_socket() {
        error_code ignored;
        socket_.close(ignored);
        if (close_timer_) close_timer_->cancel();
    }

    Socket socket_;
    std::unique_ptr<Timer> close_timer_;  // the closing handshake's deadline, while closing
    const std::uint64_t phase_;           // of the shard's heartbeat ticks
    FrameReader reader_;
    GatheredWriter writer_;
    std::string partial_;        // the start of a frame that has not fully arrived
    std::string wire_;           // frames that are not messages, due in the next write
    std::string wire_inflight_;  // those of the write under way
    std::size_t drained_ = 0;
    std::uint16_t peer_code_ = 0;  // the peer's close frame arrived, with this code
    bool writing_ = false;
    bool in_ring_ = false;  // the write is in the shard's SendRing, not yet sent
    bool heard_ = false;    // the peer sent something since the last heartbeat
    bool pinged_ = false;   // a ping went out after a silent heartbeat
    bool close_queued_ = false;
    bool close_inflight_ = false;
};

}  // namespace

void start_websocket_session(ServerContext& ctx, Shard& shard, tcp::socket socket,
                             http::request<http::string_body> request, SessionParams params) {
    // A client that offers permessage-deflate to a server that enables it gets Beast's
    // compressing stream; every other ws:// connection is ours.
    if (ctx.options.deflate && std::string_view(request[http::field::sec_websocket_extensions])
                                       .find("permessage-deflate") != std::string_view::npos)
        return start_beast_session(ctx, shard, Transport::plain(std::move(socket)),
                                   std::move(request), params);
    std::make_shared<PlainSession>(ctx, shard, std::move(socket), params)->run(request);
}

}  // namespace streambed::engine
