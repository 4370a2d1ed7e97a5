// frame_reader.hpp: the fleet's receive path — WebSocket frames from a server (RFC 6455
// §5.2: unmasked), parsed in place from one growing buffer, fragments reassembled, and
// permessage-deflate (RFC 7692) inflated when negotiated.
//
// Why not Beast's websocket::stream here: a load client must cost less per message than the
// server it measures. On the 2-core machine of docs/benchmarks.md the two share the CPUs, so
// every microsecond the client spends on a message shows up in the lateness it reports. The
// Beast client cost about 9 µs per message; reading straight from the socket into this parser
// costs a fraction of that. The server side keeps Beast.
#pragma once

#include <boost/beast/zlib/inflate_stream.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace streambed::fleet {

enum class FrameKind : std::uint8_t { text, binary, ping, pong, close };

struct Frame {
    FrameKind kind;
    std::string_view payload;  // valid until the next call to prepare() or next()
};

class FrameReader {
  public:
    // Messages (after reassembly and inflation) larger than this are an error.
    explicit FrameReader(std::size_t max_message = std::size_t{64} << 20);

    // permessage-deflate was negotiated: frames with RSV1 set are compressed.
    void enable_inflate();

    // Where the next read may write: at least `min` bytes. Then commit() what was read.
    std::span<char> prepare(std::size_t min = 16 * 1024);
    void commit(std::size_t n) { end_ += n; }

    // Bytes received but not yet parsed (for the HTTP response ahead of the first frame).
    std::string_view unparsed() const { return {buf_.data() + begin_, end_ - begin_}; }
    void consume(std::size_t n) { begin_ += n; }

    enum class Status { frame, need_more, error };
    struct Result {
        Status status;
        Frame frame{};
        std::string_view error{};  // for Status::error: what was wrong, for the report
    };
    // The next whole message or control frame, when the bytes for it have arrived.
    Result next();

  private:
    Result finish_message(FrameKind kind, bool compressed, std::string_view payload);

    std::vector<char> buf_;
    std::size_t begin_ = 0, end_ = 0;
    std::size_t max_message_;
    // A fragmented message, while its continuation frames arrive.
    bool in_message_ = false, message_compressed_ = false;
    FrameKind message_kind_ = FrameKind::text;
    std::string fragments_;
    // permessage-deflate: one inflate stream for the connection (the server may keep its
    // compression context between messages).
    std::unique_ptr<boost::beast::zlib::inflate_stream> inflate_;
    std::string inflated_;
};

}  // namespace streambed::fleet
