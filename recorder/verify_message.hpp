// verify_message.hpp: what verify reads from one message of a session — a data message's
// envelope (type, channel, seq, time), a control message with what depends on the instant left
// out, a batch frame's messages — and which channels a recorded session asked for.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "recorder/verify.hpp"

namespace streambed::recorder {

// One message of a session, recorded (frame >= 0) or re-driven (frame -1).
struct SessionMessage {
    std::int64_t frame = -1;
    std::int64_t wall_us = 0;  // the recording's timeline
    bool data = false;
    bool state = false;   // data only: a state type (snapshotted), else an event
    std::string channel;  // data only
    std::uint64_t seq = 0;
    std::int64_t time = 0;
    std::string text;
};

// A data message's envelope as the engine frames it:
// {"type":T,"channel":C,"seq":N,"time":T,"data":…}: fills channel, seq, time and state, and is
// false for anything else.
bool parse_data_message(std::string_view text, SessionMessage& item);

// What of a control message must match: all of it, except what depends on the instant or the
// server instance — welcome.session and welcome.clock, reset.seq (the newest seq then).
std::string normalized_control(std::string_view text);

// The messages of one WebSocket frame: a ?batch=1 array frame split into the exact text of
// each element; any other frame is one message.
std::vector<std::string_view> split_frame(std::string_view frame);

// Whether the recorded session was ever subscribed to `channel`: its endpoint's only channel
// (subscribed on open), or a subscribe it sent naming the channel or "*".
bool subscribed_to(const RecordedSession& session, std::string_view channel);

}  // namespace streambed::recorder
