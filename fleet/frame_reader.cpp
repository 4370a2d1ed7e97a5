// frame_reader.cpp: RFC 6455 §5.2 frame parsing for the fleet and the load client.
#include "fleet/frame_reader.hpp"

#include <boost/beast/zlib/error.hpp>

#include <cstring>

namespace streambed::fleet {

namespace zlib = boost::beast::zlib;

namespace {
constexpr std::uint8_t kOpContinuation = 0x0, kOpText = 0x1, kOpBinary = 0x2, kOpClose = 0x8,
                       kOpPing = 0x9, kOpPong = 0xA;
}  // namespace

FrameReader::FrameReader(std::size_t max_message) : max_message_(max_message) {}

void FrameReader::enable_inflate() {
    inflate_ = std::make_unique<zlib::inflate_stream>();
    inflate_->reset(15);
}

std::span<char> FrameReader::prepare(std::size_t min) {
    if (begin_ == end_) begin_ = end_ = 0;  // everything parsed: start over at the front
    if (buf_.size() - end_ < min) {
        // Move the unparsed tail to the front, then grow if that is not room enough.
        if (begin_ > 0) {
            std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
            end_ -= begin_;
            begin_ = 0;
        }
        if (buf_.size() - end_ < min) buf_.resize(end_ + min);
    }
    return {buf_.data() + end_, buf_.size() - end_};
}

FrameReader::Result FrameReader::next() {
    while (true) {
        const auto* p = reinterpret_cast<const std::uint8_t*>(buf_.data() + begin_);
        const std::size_t avail = end_ - begin_;
        if (avail < 2) return {Status::need_more};
        const bool fin = p[0] & 0x80;
        const bool rsv1 = p[0] & 0x40;
        const std::uint8_t opcode = p[0] & 0x0F;
        if (p[0] & 0x30) return {Status::error, {}, "frame with RSV2 or RSV3 set"};
        if (p[1] & 0x80) return {Status::error, {}, "masked frame from the server"};
        std::size_t header = 2;
        std::uint64_t length = p[1] & 0x7F;
        if (length == 126) {
            header = 4;
            if (avail < header) return {Status::need_more};
            length = (std::uint64_t{p[2]} << 8) | p[3];
        } else if (length == 127) {
            header = 10;
            if (avail < header) return {Status::need_more};
            length = 0;
            for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
        }
        const bool control = opcode & 0x8;
        if (control && (!fin || length > 125))
            return {Status::error, {}, "fragmented or long control frame"};
        if (rsv1 && (control || !inflate_ || opcode == kOpContinuation))
            return {Status::error, {}, "RSV1 set where no compression was negotiated"};
        if (length > max_message_ || fragments_.size() + length > max_message_)
            return {Status::error, {}, "message larger than the limit"};
        if (avail < header + length) {
            // Make sure prepare() leaves room for the whole frame.
            if (buf_.size() - begin_ < header + length) prepare(header + length - avail);
            return {Status::need_more};
        }
        const std::string_view payload(buf_.data() + begin_ + header,
                                       static_cast<std::size_t>(length));
        begin_ += header + static_cast<std::size_t>(length);

        switch (opcode) {
            case kOpPing:
                return {Status::frame, {FrameKind::ping, payload}};
            case kOpPong:
                return {Status::frame, {FrameKind::pong, payload}};
            case kOpClose:
                return {Status::frame, {FrameKind::close, payload}};
            case kOpText:
            case kOpBinary: {
                if (in_message_) return {Status::error, {}, "new message inside a fragmented one"};
                const auto kind = opcode == kOpText ? FrameKind::text : FrameKind::binary;
                if (fin) return finish_message(kind, rsv1, payload);  // the common case: no copy
                in_message_ = true;
                message_kind_ = kind;
                message_compressed_ = rsv1;
                fragments_.assign(payload);
                continue;
            }
            case kOpContinuation:
                if (!in_message_)
                    return {Status::error, {}, "continuation frame outside a message"};
                fragments_.append(payload);
                if (!fin) continue;
                in_message_ = false;
                return finish_message(message_kind_, message_compressed_, fragments_);
            default:
                return {Status::error, {}, "reserved opcode"};
        }
    }
}

FrameReader::Result FrameReader::finish_message(FrameKind kind, bool compressed,
                                                std::string_view payload) {
    if (!compressed) return {Status::frame, {kind, payload}};
    // RFC 7692 §7.2.2: append the empty block's tail the sender removed, inflate with a sync flush.
    static constexpr std::uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};
    inflated_.clear();
    zlib::z_params zs{};
    for (int part = 0; part < 2; ++part) {
        zs.next_in = part == 0 ? static_cast<const void*>(payload.data()) : kTail;
        zs.avail_in = part == 0 ? payload.size() : sizeof kTail;
        while (zs.avail_in > 0) {
            const std::size_t used = inflated_.size();
            inflated_.resize(used + std::max<std::size_t>(4096, zs.avail_in * 4));
            zs.next_out = inflated_.data() + used;
            zs.avail_out = inflated_.size() - used;
            boost::beast::error_code ec;
            inflate_->write(zs, zlib::Flush::sync, ec);
            inflated_.resize(inflated_.size() - zs.avail_out);
            if (ec == zlib::error::need_buffers || ec == zlib::error::end_of_stream) ec = {};
            if (ec) return {Status::error, {}, "bad compressed data"};
            if (inflated_.size() > max_message_)
                return {Status::error, {}, "message larger than the limit"};
            if (zs.avail_out > 0 && zs.avail_in > 0)
                return {Status::error, {}, "bad compressed data"};
        }
    }
    return {Status::frame, {kind, inflated_}};
}

}  // namespace streambed::fleet
