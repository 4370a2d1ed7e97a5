// ws_frames_fuzz.cpp: the server's reader of client frames (engine/ws_frames.hpp) on any bytes a
// client might send — the first byte picks how the rest arrives (whole, or in slices of 1 to 127
// bytes, kept and given again as the plain session does), the rest are the frames. Every
// frame is a message within the limit, a control frame, or an error with a close code.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/ws_frames.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t slice = (data[0] & 0x7F) == 0 ? size : (data[0] & 0x7F);
    const std::size_t max_message = 4096;  // small, so the limit itself is reached
    engine::FrameReader reader(max_message);
    std::string pending;  // what has arrived and is not used yet
    for (std::size_t at = 1; at < size;) {
        const std::size_t n = std::min(slice, size - at);
        pending.append(reinterpret_cast<const char*>(data) + at, n);
        at += n;
        std::size_t used = 0;
        while (true) {
            const auto step = reader.step({pending.data() + used, pending.size() - used});
            if (step.status == engine::ReadStep::need_more) {
                fuzz::check(step.used == 0, "need_more used bytes");
                break;
            }
            fuzz::check(step.used <= pending.size() - used, "a step used more than it was given");
            used += step.used;
            if (step.status == engine::ReadStep::consumed) continue;
            const auto& e = step.event;
            if (e.kind == engine::ReadEvent::failed) {
                fuzz::check(e.code == 1002 || e.code == 1007 || e.code == 1009,
                            "an error without a close code of its own", e.payload);
                return 0;  // the session closes here
            }
            if (e.kind == engine::ReadEvent::close) return 0;
            if (e.kind == engine::ReadEvent::text || e.kind == engine::ReadEvent::binary)
                fuzz::check(e.payload.size() <= max_message, "a message over the limit");
            if (e.kind == engine::ReadEvent::text)
                fuzz::check(engine::valid_utf8(e.payload), "text that is not UTF-8", e.payload);
            if (e.kind == engine::ReadEvent::ping || e.kind == engine::ReadEvent::pong)
                fuzz::check(e.payload.size() <= 125, "a control frame over 125 bytes");
        }
        pending.erase(0, used);
        fuzz::check(pending.size() <= max_message + 14 + slice, "unbounded pending bytes");
    }
    return 0;
}
