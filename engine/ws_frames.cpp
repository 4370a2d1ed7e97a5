// ws_frames.cpp: reading a client's frames (RFC 6455 §5.2–5.5) and writing the server's control
// frames.
#include "engine/ws_frames.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>

namespace streambed::engine {
namespace {

constexpr unsigned kOpContinuation = 0x0, kOpText = 0x1, kOpBinary = 0x2, kOpClose = 0x8,
                   kOpPing = 0x9, kOpPong = 0xA;
constexpr std::size_t kControlPayloadMax = 125;

unsigned byte(char c) {
    return static_cast<unsigned char>(c);
}

std::string control_frame(unsigned opcode, std::string_view payload) {
    payload = payload.substr(0, kControlPayloadMax);
    std::string frame;
    frame.reserve(2 + payload.size());
    frame.push_back(static_cast<char>(0x80 | opcode));
    frame.push_back(static_cast<char>(payload.size()));
    frame.append(payload);
    return frame;
}

// §7.4: the codes a peer may send (1004–1006 and 1015 are reserved; 1012–1014 are registered).
bool valid_close_code(unsigned code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

}  // namespace

std::string ping_frame(std::string_view payload) {
    return control_frame(kOpPing, payload);
}
std::string pong_frame(std::string_view payload) {
    return control_frame(kOpPong, payload);
}

std::string close_frame(CloseCode code, std::string_view reason) {
    // No code (the answer to a close frame without one, §5.5.1): no payload at all.
    if (code == CloseCode::no_status) return control_frame(kOpClose, {});
    const auto c = static_cast<unsigned>(code);
    std::string payload{static_cast<char>(c >> 8), static_cast<char>(c & 0xff)};
    payload.append(reason.substr(0, kControlPayloadMax - 2));
    return control_frame(kOpClose, payload);
}

bool valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        // ASCII eight bytes at a time: JSON is mostly ASCII.
        if (end - p >= 8) {
            std::uint64_t block;
            std::memcpy(&block, p, 8);
            if ((block & 0x8080808080808080ull) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        int extra;
        unsigned min, cp;
        if ((c & 0xe0) == 0xc0) {
            extra = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (end - p <= extra) return false;
        for (int i = 1; i <= extra; ++i) {
            if ((p[i] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        // Overlong forms, UTF-16 surrogates and code points past Unicode's last.
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
        p += extra + 1;
    }
    return true;
}

std::string websocket_accept(std::string_view key) {
    constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input(key);
    input.append(kGuid);
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest;
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
    std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> text;
    const int n = EVP_EncodeBlock(text.data(), digest.data(), SHA_DIGEST_LENGTH);
    return {reinterpret_cast<const char*>(text.data()), static_cast<std::size_t>(n)};
}

std::string upgrade_response(std::string_view key) {
    std::string r =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Server: streambed\r\nSec-WebSocket-Accept: ";
    r.append(websocket_accept(key));
    r.append("\r\n\r\n");
    return r;
}

ReadStep FrameReader::fail(CloseCode code, std::string_view why) const {
    return {ReadStep::produced, 0, {ReadEvent::failed, why, static_cast<std::uint16_t>(code)}};
}

ReadStep FrameReader::step(std::span<char> data) {
    if (data.size() < 2) return {};
    const unsigned b0 = byte(data[0]), b1 = byte(data[1]);
    const bool fin = b0 & 0x80;
    const unsigned opcode = b0 & 0x0f;
    const bool control = opcode & 0x8;
    std::uint64_t length = b1 & 0x7f;
    std::size_t header = 2;

    // No extension is negotiated on this path (permessage-deflate connections are Beast's).
    if (b0 & 0x70) return fail(CloseCode::protocol_error, "reserved bits set");
    if (!(b1 & 0x80)) return fail(CloseCode::protocol_error, "a client's frame must be masked");
    if (control ? opcode > kOpPong : opcode > kOpBinary)
        return fail(CloseCode::protocol_error, "unknown opcode");
    if (control && (!fin || length > kControlPayloadMax))
        return fail(CloseCode::protocol_error, "a control frame must be whole and short");
    if (length == 126) {
        if (data.size() < 4) return {};
        length = (byte(data[2]) << 8) | byte(data[3]);
        header = 4;
    } else if (length == 127) {
        if (data.size() < 10) return {};
        length = 0;
        for (int i = 2; i < 10; ++i) length = (length << 8) | byte(data[i]);
        header = 10;
    }
    if (!control) {
        if (opcode == kOpContinuation && !in_message_)
            return fail(CloseCode::protocol_error, "a continuation frame outside a message");
        if (opcode != kOpContinuation && in_message_)
            return fail(CloseCode::protocol_error, "a new message before the last one ended");
        const std::size_t so_far = opcode == kOpContinuation ? message_.size() : 0;
        if (length > max_message_ - so_far)
            return fail(CloseCode::too_big, "message larger than the inbound limit");
    }
    header += 4;  // the masking key
    if (data.size() < header || data.size() - header < length) return {};

    const char* key = data.data() + header - 4;
    const auto payload = data.subspan(header, static_cast<std::size_t>(length));
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] ^= key[i & 3];
    const std::string_view bytes(payload.data(), payload.size());
    const std::size_t used = header + payload.size();

    switch (opcode) {
        case kOpPing:
            return {ReadStep::produced, used, {ReadEvent::ping, bytes}};
        case kOpPong:
            return {ReadStep::produced, used, {ReadEvent::pong, bytes}};
        case kOpClose: {
            if (bytes.empty())
                return {ReadStep::produced,
                        used,
                        {ReadEvent::close, {}, static_cast<std::uint16_t>(CloseCode::no_status)}};
            const unsigned code = bytes.size() >= 2 ? (byte(bytes[0]) << 8) | byte(bytes[1]) : 0;
            if (!valid_close_code(code))
                return fail(CloseCode::protocol_error, "a close frame with an invalid code");
            const auto reason = bytes.substr(2);
            if (!valid_utf8(reason))
                return fail(CloseCode::bad_payload, "a close reason that is not UTF-8");
            return {ReadStep::produced,
                    used,
                    {ReadEvent::close, reason, static_cast<std::uint16_t>(code)}};
        }
        case kOpText:
        case kOpBinary:
            binary_ = opcode == kOpBinary;
            if (fin) return finish_message(used, bytes);
            in_message_ = true;
            message_.assign(bytes);
            return {ReadStep::consumed, used, {}};
        default:  // continuation
            message_.append(bytes);
            if (fin) return finish_message(used, message_);
            return {ReadStep::consumed, used, {}};
    }
}

ReadStep FrameReader::finish_message(std::size_t used, std::string_view whole) {
    in_message_ = false;
    if (!binary_ && !valid_utf8(whole))
        return fail(CloseCode::bad_payload, "a text message that is not UTF-8");
    return {ReadStep::produced, used, {binary_ ? ReadEvent::binary : ReadEvent::text, whole}};
}

void FrameReader::release() {
    in_message_ = false;
    std::string().swap(message_);
}

}  // namespace streambed::engine
