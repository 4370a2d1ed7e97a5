// frame_writer.hpp: a client's WebSocket frame (RFC 6455 §5.2, masked as §5.3 requires of a
// client), appended to an output buffer. The fleet's clients and bench's load client write
// every frame through it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace streambed::fleet {

inline void append_client_frame(std::string& out, std::uint8_t opcode, std::string_view payload,
                                std::uint32_t mask_key) {
    const char mask[4] = {static_cast<char>(mask_key), static_cast<char>(mask_key >> 8),
                          static_cast<char>(mask_key >> 16), static_cast<char>(mask_key >> 24)};
    out += static_cast<char>(0x80 | opcode);  // FIN, one frame per message
    if (payload.size() < 126) {
        out += static_cast<char>(0x80 | payload.size());
    } else if (payload.size() <= 0xFFFF) {
        out += static_cast<char>(0x80 | 126);
        for (int shift = 8; shift >= 0; shift -= 8)
            out += static_cast<char>(payload.size() >> shift);
    } else {
        out += static_cast<char>(0x80 | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out += static_cast<char>(static_cast<std::uint64_t>(payload.size()) >> shift);
    }
    out.append(mask, 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out += static_cast<char>(payload[i] ^ mask[i % 4]);
}

}  // namespace streambed::fleet
