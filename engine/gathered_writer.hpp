// gathered_writer.hpp: the write of plain connections — every in-flight frame in one sendmsg,
// gathered straight from the shared messages and their pre-encoded headers, so nothing is copied.
// With ?batch=1 each run of data messages becomes one array frame ('[', the messages, ',' and ']'
// gathered too); a control message keeps a frame of its own. A write the socket takes only part
// of goes on from the same byte. Knows nothing of Beast or of the session: testable on a socket.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/message.hpp"

namespace streambed::engine {

// A ?batch=1 frame gathers at most this much: large enough to amortize a write over many
// messages, small enough to keep the latency of the first one low.
inline constexpr std::size_t kBatchMaxMessages = 256;
inline constexpr std::size_t kBatchMaxBytes = 64 << 10;
// A gathered write (plain connections) carries at most this many frames, or this many bytes
// past which no more frames are added: one sendmsg for all of them, within the kernel's iovec
// limit, and a bounded share of the turn for one connection.
inline constexpr std::size_t kGatherMaxFrames = 128;
inline constexpr std::size_t kGatherMaxBytes = 256 << 10;
// At most 3 iovecs per message: an array of n messages takes 2n + 2 (n >= 2), a frame alone 2.
inline constexpr std::size_t kGatherMaxIovecs = 3 * kBatchMaxMessages;

// What one send of the gathered write came to (errors as values).
struct GatherProgress {
    enum Status { done, partial, failed } status;
    int error = 0;  // errno, when failed
};

class GatheredWriter {
  public:
    explicit GatheredWriter(bool batch) : batch_(batch) {}

    // With ?batch=1, one frame of the write: runs of data messages, control ones alone.
    struct Segment {
        std::uint16_t first, count;
        FrameHeader header;
    };

    bool batch() const { return batch_; }
    // The limits of OutboundQueue::begin_write for the next write.
    std::size_t max_messages() const { return batch_ ? kBatchMaxMessages : kGatherMaxFrames; }
    std::size_t max_bytes() const { return batch_ ? kBatchMaxBytes : kGatherMaxBytes; }

    // Lays out `frames` (the queue's in-flight messages, unchanged until the write is done) as
    // the next write, none of it sent yet. `wire` goes first: bytes that are not messages (the
    // upgrade's response, pings, pongs, the close frame), kept unchanged until the write is done.
    void plan(std::span<const MessagePtr> frames, std::string_view wire = {});
    // Fills `iov` with what is still to send of `frames` (as planned), from the first unsent
    // byte; returns how many iovecs it used (at most kGatherMaxIovecs).
    std::size_t iovecs(std::span<const MessagePtr> frames, std::span<iovec> iov) const;
    // One non-blocking sendmsg of what is left to `fd`. `partial`: wait until it is writable
    // and call again; the write goes on from the same byte.
    GatherProgress send(int fd, std::span<const MessagePtr> frames);
    // What a send of iovecs() came to, from its result: the bytes the socket took, or -errno
    // (what send() does after its sendmsg; a send made elsewhere — a SendRing — reports here).
    GatherProgress settle(long result);

    std::size_t total() const { return total_; }      // bytes of the write, headers included
    std::size_t payload() const { return payload_; }  // the messages alone, without headers
    std::size_t sent() const { return sent_; }
    bool complete() const { return sent_ == total_; }
    // Frames the write puts on the wire for `messages` messages.
    std::size_t frame_count(std::size_t messages) const {
        return batch_ ? segments_.size() : messages;
    }
    std::span<const Segment> segments() const { return segments_; }
    // After a write, when nothing else is queued: a burst's list need not stay allocated.
    void trim() {
        if (segments_.capacity() > 16) std::vector<Segment>().swap(segments_);
    }

  private:
    const bool batch_;
    std::size_t total_ = 0;
    std::size_t payload_ = 0;
    std::size_t sent_ = 0;
    std::string_view wire_;
    std::vector<Segment> segments_;
};

}  // namespace streambed::engine
