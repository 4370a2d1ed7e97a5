// ws_frames.hpp: the WebSocket framing of plain connections (RFC 6455 §5), the server's side:
// reading a client's masked frames into messages and control frames, and the control frames the
// server writes. Knows nothing of sockets: the session hands it bytes
// (tests/engine/ws_frames_test).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace streambed::engine {

// The close codes the server sends (RFC 6455 §7.4.1; docs/protocol.md, "Close codes").
enum class CloseCode : std::uint16_t {
    normal = 1000,
    going_away = 1001,
    protocol_error = 1002,
    unknown_data = 1003,  // a binary frame
    no_status = 1005,     // a close frame without a code (sent only as such: no payload)
    bad_payload = 1007,   // text that is not UTF-8
    policy_error = 1008,
    too_big = 1009,
    internal_error = 1011,
    try_again_later = 1013,
};

// The server's control frames, unmasked; a ping's or pong's payload is cut to 125 bytes, a close
// reason to 123 (§5.5). A close frame with `no_status` carries neither code nor reason.
std::string ping_frame(std::string_view payload);
std::string pong_frame(std::string_view payload);
std::string close_frame(CloseCode code, std::string_view reason);

bool valid_utf8(std::string_view text);

// The upgrade's answer (§4.2.2): 101 with Sec-WebSocket-Accept computed from the client's
// Sec-WebSocket-Key (already checked by the HTTP session).
std::string websocket_accept(std::string_view key);
std::string upgrade_response(std::string_view key);

// One message or control frame read from a client.
struct ReadEvent {
    enum Kind { text, binary, ping, pong, close, failed } kind = failed;
    // text/binary: the message; ping/pong: the payload; close: the reason; failed: why.
    // Valid until the next call of FrameReader::step.
    std::string_view payload;
    // close: the peer's code (1005 when it gave none); failed: the code to close with.
    std::uint16_t code = 0;
};

// What one step of reading came to: a frame needs more bytes than given (nothing used), a
// frame was used with nothing to report yet (a fragment), or a frame completed an event.
struct ReadStep {
    enum Status { need_more, consumed, produced } status = need_more;
    std::size_t used = 0;
    ReadEvent event;
};

class FrameReader {
  public:
    // Messages (all their fragments together) larger than `max_message` fail with 1009 as soon
    // as a frame header announces it: the payload is never buffered.
    explicit FrameReader(std::size_t max_message) : max_message_(max_message) {}

    // Reads the frame at the start of `data`, unmasking it in place. After a `failed` or a
    // `close` event nothing more is to be read.
    ReadStep step(std::span<char> data);
    // True while a fragmented message is part-way read (its fragments held here).
    bool in_message() const { return in_message_; }
    // Forgets the fragments read so far and their buffer (an idle connection holds none).
    void release();

  private:
    ReadStep fail(CloseCode code, std::string_view why) const;
    ReadStep finish_message(std::size_t used, std::string_view whole);

    const std::size_t max_message_;
    std::string message_;  // the fragments of a message so far
    bool in_message_ = false;
    bool binary_ = false;
};

}  // namespace streambed::engine
