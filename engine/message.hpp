// message.hpp: one outbound message, serialized once and shared by every session that sends it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/catalog.hpp"
#include "engine/frame_header.hpp"

namespace streambed::engine {

using StreamId = std::uint32_t;
inline constexpr StreamId kNoStream = ~StreamId{0};

struct Message {
    StreamId stream = kNoStream;  // kNoStream for control messages
    std::uint64_t seq = 0;        // per-stream, from 1; 0 for control messages
    std::int64_t time_ms = 0;     // simulated time
    MessageType type = MessageType::control;
    std::int64_t published_us = 0;  // wall clock at publish (steady µs), for the latency histogram
    std::string bytes;              // the complete JSON text of the frame
    FrameHeader header;             // of `bytes` sent alone as one text frame
};

using MessagePtr = std::shared_ptr<const Message>;

inline MessagePtr make_control(std::string bytes) {
    auto m = std::make_shared<Message>();
    m->bytes = std::move(bytes);
    m->header = text_frame_header(m->bytes.size());
    return m;
}

}  // namespace streambed::engine
