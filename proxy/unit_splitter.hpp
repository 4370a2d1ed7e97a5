// unit_splitter.hpp: where the units of one direction of a connection begin and end, whatever
// the TCP read boundaries. A unit is what the proxy delays as a whole (one jitter draw each):
//   - an HTTP head (request or response, up to "\r\n\r\n", at most 16 KiB);
//   - after an upgrade (a request naming "Upgrade: websocket", a "101" response), one WebSocket
//     frame, header and payload (RFC 6455 §5.2: 7-, 16- and 64-bit lengths, masked or not);
//   - any other bytes (a raw TCP stream, HTTP bodies): fixed pieces of 1 KiB of the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace streambed::proxy {

// A run of consecutive bytes of one unit, of one kind (frame header or frame payload).
struct Segment {
    std::size_t length = 0;
    bool unit_start = false;  // holds the unit's first byte
    bool unit_end = false;    // holds the unit's last byte
    bool frame = false;       // the unit is a WebSocket frame
    bool payload = false;     // frame payload bytes (not header)
};

class UnitSplitter {
  public:
    enum class Start { http_request, http_response, raw };
    enum class Mode { head, frames, raw };
    static constexpr std::size_t kMaxHead = 16 * 1024;  // like the proxy's head read bound
    static constexpr std::size_t kRawUnit = 1024;  // small enough to pace, large enough to be cheap

    explicit UnitSplitter(Start start)
        : start_(start), mode_(start == Start::raw ? Mode::raw : Mode::head) {}

    // Appends the segments of `data` (the next bytes of the stream) to `out`; they cover it all.
    void split(std::string_view data, std::vector<Segment>& out);

    Mode mode() const { return mode_; }
    // The current (or last) frame: its opcode, FIN bit and payload length, once its header is in.
    std::uint8_t opcode() const { return opcode_; }
    bool fin() const { return fin_; }
    std::uint64_t payload_length() const { return payload_length_; }

  private:
    std::size_t split_head(std::string_view data, std::vector<Segment>& out);
    std::size_t split_frame(std::string_view data, std::vector<Segment>& out);
    std::size_t split_raw(std::string_view data, std::vector<Segment>& out);
    void end_head();

    Start start_;
    Mode mode_;
    std::string head_;              // the head so far (bounded by kMaxHead)
    std::size_t raw_in_unit_ = 0;   // bytes of the current raw unit so far
    std::uint8_t header_[14] = {};  // the current frame's header so far
    std::size_t header_have_ = 0, header_need_ = 2;
    std::uint64_t payload_left_ = 0;
    bool in_payload_ = false;
    std::uint8_t opcode_ = 0;
    bool fin_ = false;
    std::uint64_t payload_length_ = 0;
};

}  // namespace streambed::proxy
