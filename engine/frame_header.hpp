// frame_header.hpp: the header of a server-to-client WebSocket text frame (RFC 6455 §5.2: FIN,
// opcode 1, unmasked). A message is encoded once and its header with it, so that every plain
// connection writes the same bytes with no per-connection framing work.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace streambed::engine {

struct FrameHeader {
    std::array<unsigned char, 10> bytes{};
    std::uint8_t size = 0;

    std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), size}; }
};

constexpr FrameHeader text_frame_header(std::size_t payload_size) {
    FrameHeader h;
    h.bytes[0] = 0x81;  // FIN | text
    if (payload_size < 126) {
        h.bytes[1] = static_cast<unsigned char>(payload_size);
        h.size = 2;
    } else if (payload_size <= 0xffff) {
        h.bytes[1] = 126;
        h.bytes[2] = static_cast<unsigned char>(payload_size >> 8);
        h.bytes[3] = static_cast<unsigned char>(payload_size);
        h.size = 4;
    } else {
        h.bytes[1] = 127;
        for (int i = 0; i < 8; ++i)
            h.bytes[2 + i] = static_cast<unsigned char>(static_cast<std::uint64_t>(payload_size) >>
                                                        (56 - 8 * i));
        h.size = 10;
    }
    return h;
}

}  // namespace streambed::engine
