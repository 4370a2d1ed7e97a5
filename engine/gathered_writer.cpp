// gathered_writer.cpp: the frames of a gathered write, its iovecs and its partial sends.
#include "engine/gathered_writer.hpp"

#include <sys/socket.h>

#include <array>
#include <cerrno>

namespace streambed::engine {

void GatheredWriter::plan(std::span<const MessagePtr> frames, std::string_view wire) {
    payload_ = 0;
    total_ = wire.size();
    sent_ = 0;
    wire_ = wire;
    if (!batch_) {
        for (const auto& m : frames) {
            payload_ += m->bytes.size();
            total_ += m->header.size + m->bytes.size();
        }
        return;
    }
    segments_.clear();
    for (std::size_t i = 0; i < frames.size();) {
        std::size_t end = i + 1, payload = frames[i]->bytes.size();
        if (frames[i]->stream != kNoStream)
            for (; end < frames.size() && frames[end]->stream != kNoStream; ++end)
                payload += frames[end]->bytes.size();
        const std::size_t count = end - i;
        if (count > 1) payload += count + 1;  // '[', the commas, ']'
        segments_.push_back({static_cast<std::uint16_t>(i), static_cast<std::uint16_t>(count),
                             count > 1 ? text_frame_header(payload) : frames[i]->header});
        payload_ += payload;
        total_ += segments_.back().header.size + payload;
        i = end;
    }
}

std::size_t GatheredWriter::iovecs(std::span<const MessagePtr> frames, std::span<iovec> iov) const {
    std::size_t count = 0, skip = sent_;
    auto add = [&](const void* data, std::size_t size) {
        if (skip >= size) {
            skip -= size;
            return;
        }
        iov[count++] = {const_cast<char*>(static_cast<const char*>(data)) + skip, size - skip};
        skip = 0;
    };
    if (!wire_.empty()) add(wire_.data(), wire_.size());
    if (batch_) {
        for (const auto& seg : segments_) {
            add(seg.header.bytes.data(), seg.header.size);
            for (std::size_t i = seg.first; i < seg.first + seg.count; ++i) {
                if (seg.count > 1) add(i == seg.first ? "[" : ",", 1);
                add(frames[i]->bytes.data(), frames[i]->bytes.size());
            }
            if (seg.count > 1) add("]", 1);
        }
    } else {
        for (const auto& m : frames) {
            add(m->header.bytes.data(), m->header.size);
            add(m->bytes.data(), m->bytes.size());
        }
    }
    return count;
}

GatherProgress GatheredWriter::send(int fd, std::span<const MessagePtr> frames) {
    std::array<iovec, kGatherMaxIovecs> iov;
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = iovecs(frames, iov);
    const ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    return settle(n < 0 ? -errno : n);
}

GatherProgress GatheredWriter::settle(long result) {
    if (result == -EAGAIN || result == -EWOULDBLOCK || result == -EINTR)
        return {GatherProgress::partial};
    if (result < 0) return {GatherProgress::failed, static_cast<int>(-result)};
    sent_ += static_cast<std::size_t>(result);
    return {complete() ? GatherProgress::done : GatherProgress::partial};
}

}  // namespace streambed::engine
