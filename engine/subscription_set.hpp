// subscription_set.hpp: one session's subscriptions — per stream the newest seq sent, its slot
// in the shard's table and whether a resume is still sending history — and the "*" flag; the
// subscribe and unsubscribe requests (what each sends first: snapshot, reset or resume), and the
// paced catch-up of resumes (refill). It sends, and enters the shard's tables, through its
// SubscriptionSink: the session, or a test's fake.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/hub.hpp"
#include "engine/protocol.hpp"
#include "engine/stream.hpp"

namespace streambed::engine {

// History is read for a resume this many messages at a time (one lock of the stream each).
inline constexpr std::size_t kCatchupChunk = 64;

struct Subscription {
    Stream* stream;
    std::uint64_t last_seq;    // the newest seq sent (or skipped by conflation) to this client
    std::uint32_t slot;        // position in the shard's table for the stream
    bool catching_up = false;  // a resume is still sending history (refill())
};

// What a subscription set needs of its session. Shard thread only.
class SubscriptionSink {
  public:
    virtual bool open() const = 0;  // false once closing: nothing more is sent
    virtual std::size_t queued_bytes() const = 0;
    virtual void send(const MessagePtr& m) = 0;
    virtual void send_control(std::string json) = 0;
    virtual void send_error(ErrorCode code, std::string_view message) = 0;
    // The shard's tables: enter returns the slot (Shard::table_add); "*" follows new streams.
    virtual std::uint32_t enter(StreamId stream) = 0;
    virtual void leave(StreamId stream, std::uint32_t slot) = 0;
    virtual void follow_new_streams(bool on) = 0;

  protected:
    ~SubscriptionSink() = default;
};

// The channels a subscribe names on an endpoint: the streams, the names that exist (in the
// order given, "*" included) and those that do not.
struct ChannelSelection {
    std::vector<Stream*> targets;
    std::vector<std::string> known, unknown;
    bool star = false;
};
ChannelSelection select_channels(const Hub& hub, Endpoint endpoint,
                                 const std::vector<std::string>& names);

class SubscriptionSet {
  public:
    struct Limits {
        std::size_t max_subscriptions;
        std::size_t refill_budget;  // queued bytes up to which refill() adds history
    };
    SubscriptionSet(const Hub& hub, Endpoint endpoint, Limits limits, SubscriptionSink& sink)
        : hub_(hub), endpoint_(endpoint), limits_(limits), sink_(sink) {}

    Subscription* find(StreamId id) {
        for (auto& s : subs_)
            if (s.stream->id() == id) return &s;
        return nullptr;
    }
    // Live delivery: true if `m` is to be sent (and then counted as sent). Skipped: already sent
    // by a snapshot or resume, or to be sent by a resume under way.
    bool admit(const Message& m) {
        Subscription* sub = find(m.stream);
        if (!sub || sub->catching_up || m.seq <= sub->last_seq) return false;
        sub->last_seq = m.seq;
        return true;
    }
    // The shard moved our entry for `stream` to `slot`.
    void moved(StreamId stream, std::uint32_t slot) { find(stream)->slot = slot; }

    std::size_t size() const { return subs_.size(); }
    const Subscription& operator[](std::size_t i) const { return subs_[i]; }
    const void* data() const { return subs_.data(); }  // for prefetching
    bool wildcard() const { return wildcard_; }
    std::size_t catching_up() const { return catching_up_; }

    // Subscribes to `stream` (entering the shard's table) as if `last_seq` had been sent.
    void add(Stream* stream, std::uint64_t last_seq);
    void subscribe(const SubscribeRequest& req);
    void unsubscribe(const SubscribeRequest& req);
    // A stream declared after a "*" subscription: every one of its messages is still to come.
    void on_stream_added(Stream* stream);
    // Moves history into the queue for every resuming subscription, up to the refill budget,
    // so that a resume longer than the outbound bound never overflows it.
    void refill();
    // Leaves every table.
    void clear();

  private:
    void remove(std::size_t i);
    void set_wildcard(bool on);
    void set_catching_up(Subscription& sub, bool on);

    const Hub& hub_;
    const Endpoint endpoint_;
    const Limits limits_;
    SubscriptionSink& sink_;
    std::vector<Subscription> subs_;
    bool wildcard_ = false;
    std::size_t catching_up_ = 0;  // subscriptions with a resume under way
};

}  // namespace streambed::engine
