// session.hpp: one client connection speaking protocol v1, whatever carries its frames — the
// welcome, the client's messages, the subscriptions, the bounded outbound queue and what is
// reported of it. A transport derives from it: plain_session.cpp (frames of our own, the common
// case) or beast_session.cpp (wss:// and permessage-deflate, through Beast's websocket::stream).
// All of a session's work runs on its shard's thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>

#include "engine/outbound_queue.hpp"
#include "engine/server_context.hpp"
#include "engine/session_meter.hpp"
#include "engine/subscription_set.hpp"
#include "engine/token_bucket.hpp"
#include "engine/websocket_session.hpp"
#include "engine/ws_frames.hpp"

namespace streambed::engine {

class Session : public Subscriber,
                protected SubscriptionSink,
                public std::enable_shared_from_this<Session> {
  public:
    Session(ServerContext& ctx, Shard& shard, SessionParams params);
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // Subscriber
    void deliver(const MessagePtr& m, bool at_once) override;
    void moved(StreamId stream, std::uint32_t slot) override { subs_.moved(stream, slot); }
    void on_stream_added(Stream* stream) override;
    void close_for_shutdown() override { close(CloseCode::going_away, "server shutting down"); }
    void prefetch(int stage) const override;
    void heartbeat(std::uint64_t) override {}  // Beast keeps its own
    // The end of the shard's turn: write what was queued during it.
    void flush() override {
        flush_scheduled_ = false;
        write_now();
    }

    virtual ~Session();

  protected:
    // ---- what the transport calls ----------------------------------------------------------
    // The handshake is done: joins the shard, subscribes a single-channel endpoint and queues
    // the welcome (and the snapshot). For the recording: `peer` is "address:port", `target` the
    // upgrade's target with the token redacted.
    void opened(std::string peer, std::string target);
    // A whole message from the client.
    void on_message(std::string_view payload, bool binary);
    // The in-flight messages are on the wire (and counted): make room, go on with resumes.
    void written();
    // This side closes: nothing more is queued, the transport sends its close frame.
    void close(CloseCode code, std::string_view reason);
    // The connection failed or ended: nothing more is sent. An error the transport expects
    // (the peer went away) comes as an empty `ec` and is not logged.
    void fail(boost::system::error_code ec, const char* what);

    enum class Flush { now, end_of_turn };
    // Writes are started at the end of the shard's turn, so that every frame queued for this
    // connection during the turn goes out together — unless the shard says nothing else is
    // coming this turn (Flush::now, from deliver()).
    void schedule_flush(Flush when);

    // ---- what the transport does -----------------------------------------------------------
    // Starts writing what is queued, unless a write is under way (it goes on when that ends).
    virtual void write_now() = 0;
    // Sends the close frame (the queue is already empty).
    virtual void close_transport(CloseCode code, std::string_view reason) = 0;
    // The peer's close frame has already arrived (its code is the one recorded).
    virtual bool peer_closed_first() const = 0;

    ServerContext& ctx_;
    Shard& shard_;
    const SessionParams params_;
    OutboundQueue queue_;
    SessionMeter meter_;
    bool closing_ = false;

  private:
    void handle(std::string_view text);
    // Leaves every table of the shard. Never called while the shard iterates a table.
    void detach();
    // Drops the queue; leaves the shard's tables later: we may be inside its delivery loop now.
    void stop_sending();

    void send(const MessagePtr& m, Flush when);

    // SubscriptionSink: queueing, and the shard's tables.
    bool open() const override { return !closing_; }
    std::size_t queued_bytes() const override { return queue_.bytes(); }
    void send(const MessagePtr& m) override { send(m, Flush::end_of_turn); }
    void send_control(std::string text) override;
    void send_error(ErrorCode code, std::string_view message) override;
    std::uint32_t enter(StreamId stream) override { return shard_.table_add(stream, this); }
    void leave(StreamId stream, std::uint32_t slot) override { shard_.table_remove(stream, slot); }
    void follow_new_streams(bool on) override;

    SubscriptionSet subs_;
    TokenBucket tokens_;
    std::size_t errors_ = 0;
    bool flush_scheduled_ = false;  // in the shard's list of connections to write this turn
    bool attached_ = false;
    bool detached_ = false;
};

}  // namespace streambed::engine
