// tap.hpp: what the engine tells an observer — the recorder — about everything that crosses
// the wire: each published message, each session's opening and close, each frame in and out.
// Called on the source's and the I/O threads, concurrently; an implementation must never
// block an I/O thread (the broadcast path does not wait on disk).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/catalog.hpp"
#include "engine/message.hpp"

namespace streambed::engine {

struct SessionOpened {
    std::uint64_t id = 0;  // unique within the process run
    std::string name;      // as in welcome.session
    Endpoint endpoint = Endpoint::metrics;
    std::string peer;    // ADDR:PORT
    std::string target;  // the upgrade request's target, query included
    std::int64_t wall_us = 0;
};

class Tap {
  public:
    virtual ~Tap() = default;
    // The source thread, after framing, before fan-out. May slow the source; never the shards.
    virtual void published(const MessagePtr& message) = 0;
    // The stream a published message belongs to, once, before its first message.
    virtual void stream_declared(StreamId id, Endpoint endpoint, std::string_view channel) = 0;
    virtual void session_opened(const SessionOpened& session) = 0;
    // An outbound frame written: the messages it carried (one, or a ?batch=1 array in order).
    virtual void frame_out(std::uint64_t session, const MessagePtr* messages, std::size_t count,
                           std::int64_t wall_us) = 0;
    // `count` outbound frames written together, one message each (a gathered write).
    virtual void frames_out(std::uint64_t session, const MessagePtr* messages, std::size_t count,
                            std::int64_t wall_us) {
        for (std::size_t i = 0; i < count; ++i) frame_out(session, &messages[i], 1, wall_us);
    }
    // An inbound text frame as received.
    virtual void frame_in(std::uint64_t session, std::string_view text, std::int64_t wall_us) = 0;
    virtual void session_closed(std::uint64_t session, int code, std::string_view reason,
                                std::int64_t wall_us) = 0;
    // How full the tap's own queue is, 0 (empty) to 1 (full: I/O threads' frames are dropped).
    // A source that publishes as fast as the server delivers also waits for the tap.
    virtual double fill() const { return 0; }
};

}  // namespace streambed::engine
