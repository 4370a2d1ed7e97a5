// client.hpp: one fleet client — a raw socket speaking the protocol through its lifecycle:
// wait (ramp-up or backoff), connect, upgrade, welcome, subscribe (with `since` when resuming),
// read (normally, slowly, with pauses, or never), lose the connection, back off, come back; and,
// when the upgrade keeps failing, poll. Everything it sees is counted in its thread's totals.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/clock.hpp"
#include "fleet/client_group.hpp"
#include "fleet/fleet_stats.hpp"
#include "fleet/frame_reader.hpp"
#include "fleet/tls.hpp"
#include "simulator/rng.hpp"

namespace streambed::fleet {

struct FleetOptions;
class Client;

// What the clients of one thread share: their io_context, their totals and series, and the gate
// on handshakes in flight. Only that thread touches it, except the atomics.
struct ThreadContext {
    boost::asio::io_context ioc{1};
    const FleetOptions* options = nullptr;
    double scale = 1;  // for client timings: simulated ms per wall ms
    std::chrono::steady_clock::time_point start;
    std::vector<GroupTotals> totals;  // per group
    std::vector<Bucket> buckets;
    std::vector<std::atomic<std::int64_t>>* connected = nullptr;  // per group, every thread
    std::size_t handshakes = 0;                                   // in flight on this thread
    std::deque<std::weak_ptr<Client>> waiting;                    // for a handshake slot
    boost::asio::ssl::context* tls = nullptr;  // the fleet's, when a target is TLS

    std::chrono::steady_clock::duration wall(
        Millis simulated) const;  // a client timing, in wall time
    Bucket* bucket_now();
};

// Where a client connects: the resolved address, the name it was given (the Host header; with
// TLS, the SNI and the name the certificate must match), and whether TLS runs over the socket.
struct Destination {
    boost::asio::ip::tcp::endpoint endpoint;
    std::string host;
    bool tls = false;
};

class Client : public std::enable_shared_from_this<Client> {
  public:
    // `targets`: the servers it may use (a cluster's nodes, or one server); it starts on
    // targets[first] and moves to the next one after each lost connection or failed attempt.
    Client(ThreadContext& ctx, std::size_t group, const ClientGroup& spec, std::size_t index,
           std::vector<Destination> targets, std::size_t first, std::uint64_t seed);

    void begin(std::chrono::steady_clock::duration delay);  // join: connect after `delay`
    // Close 1000 and stop for good. `by_event`: the group left during the run (a timeline
    // event), so the streams' spans end with what it received; the end of the run is not that.
    void leave(bool by_event = true);
    void churn();  // unsubscribe, then resume
    void drop();   // lose the connection now
    std::size_t index() const { return index_; }
    bool live() const { return state_ == State::live; }
    // Every stream the client subscribes to has reached its final seq (a stream not yet seen
    // has not).
    bool caught_up(const auto& finals) const {
        if (state_ == State::idle || state_ == State::stopped) return true;  // not in the run now
        if (state_ != State::live) return false;                             // on its way back
        for (const auto& [key, final_seq] : finals) {
            if (key.first != spec_.endpoint || !subscribes_to(key.second)) continue;
            const auto* s = find_stream(key.second);
            if (!s || s->seqs.last() < final_seq) return false;
        }
        return true;
    }
    void add_counts(GroupTotals& totals, const auto& finals) const {
        for (const auto& s : streams_) {
            auto it = finals.find({spec_.endpoint, s.channel});
            const std::uint64_t end =
                (it != finals.end() && !left_by_event_) ? it->second : s.seqs.last();
            const auto c = s.seqs.counts(end);
            totals.seqs.distinct += c.distinct;
            totals.seqs.duplicates += c.duplicates;
            totals.seqs.gaps += c.gaps;
            totals.seqs.conflated += c.conflated;
            totals.seqs.declared += c.declared;
            totals.seqs.expected += c.expected;
        }
    }
    void start_handshake();  // the thread's gate let it through

  private:
    enum class State { idle, waiting, connecting, live, stopped };
    struct StreamState {
        std::string channel;
        SeqTracker seqs;
        bool fresh = true;      // the next message follows a (re)subscribe: a jump is a gap
        bool declared = false;  // a `reset` came: the next jump is declared
        bool snapshot =
            false;  // the last message was a snapshot: the next jump skips unowed events
        bool after_reset = false;        // ... and it followed a `reset`: that jump is declared too
        std::int64_t live_since_us = 0;  // due instants before this are history, not live
    };

    // client.cpp: the connection's lifecycle
    void on_connect(boost::system::error_code ec, unsigned gen);
    void send_upgrade();
    void do_read();
    void on_read(boost::system::error_code ec, std::size_t n, unsigned gen);
    bool read_upgrade();
    void lost(const std::string& why, bool refused = false);  // why: for the reasons table
    void schedule_retry(std::chrono::steady_clock::duration at_least);
    void handshake_done();
    void arm_dead_timer();
    void start_misbehaving();
    void send_frame(std::uint8_t opcode, std::string_view payload);
    void flush_outbox();
    void close_socket();

    // client_receive.cpp: what arrives
    bool on_welcome(std::string_view text);
    void on_text(std::string_view text, std::int64_t received_us);
    void on_message(std::string_view msg, std::int64_t received_us, bool polled);
    void on_data(std::string_view channel, std::uint64_t seq, std::int64_t time,
                 std::int64_t received_us, bool polled);
    void on_control(std::string_view type, std::string_view msg);
    void subscribe_on_open(const std::string& previous_epoch);
    void pause_cycle(bool pausing);
    StreamState& stream(std::string_view channel);
    const StreamState* find_stream(std::string_view channel) const;
    bool subscribes_to(std::string_view channel) const;

    // client_poll.cpp: the polling fallback
    void start_polling();
    void poll_once();
    void schedule_poll();
    void on_poll_response(std::string_view response, unsigned poll_gen);

    ThreadContext& ctx_;
    const std::size_t group_;
    const ClientGroup& spec_;
    const std::size_t index_;
    const std::vector<Destination> targets_;
    std::size_t at_;  // the target in use
    const Destination& target() const { return targets_[at_]; }
    simulator::Rng rng_;

    boost::asio::ip::tcp::socket sock_;
    // The TLS layer over sock_ for this connection (wss://), made anew for each one; null on
    // plain connections, which read and write sock_ directly. Its handlers hold it, so a stream
    // replaced while an operation is pending outlives that operation.
    std::shared_ptr<TlsStream> tls_;
    boost::asio::steady_timer retry_timer_, connect_timer_, dead_timer_, behave_timer_, read_timer_,
        poll_timer_;
    FrameReader reader_{std::size_t{64} << 20};
    std::string outbox_, in_flight_;

    State state_ = State::idle;
    unsigned gen_ = 0;  // the connection attempt; handlers of older ones are ignored
    bool upgraded_ = false, writing_ = false, reading_ = false, paused_ = false;
    bool leaving_ = false, left_by_event_ = false, in_handshake_ = false, ignore_snapshot_ = false,
         polling_ = false;
    unsigned poll_gen_ = 0;      // a poll answered after polling stopped is ignored
    std::uint64_t attempt_ = 0;  // connection attempts so far (the proxy's key)
    unsigned failures_ = 0;      // in a row, for the backoff
    std::chrono::steady_clock::duration retry_after_{};  // a 503's Retry-After
    std::chrono::steady_clock::time_point last_read_;
    std::int64_t lost_at_us_ = 0;  // steady µs the connection was lost; 0 when never
    std::int64_t heartbeat_ms_ = 15000;

    bool resumed_ = false;               // the current subscription asked for `since`
    std::int64_t subscribed_at_us_ = 0;  // when the current subscription was asked for (wall µs)
    std::string epoch_;
    std::int64_t clock_time_ = 0, clock_wall_ = 0;
    double clock_scale_ = 0;
    std::vector<StreamState> streams_;
};

std::string host_header(const std::string& host);  // the Host header's value: "[::1]" for ::1
using engine::steady_now_us;
using engine::wall_now_us;  // the welcome's clock

}  // namespace streambed::fleet
