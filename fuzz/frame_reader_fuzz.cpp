// frame_reader_fuzz.cpp: the fleet's frame reader (fleet/frame_reader.hpp) on any bytes a server
// might send — the first byte picks permessage-deflate on or off and how the rest arrives (whole,
// or in slices of 1 to 127 bytes), the rest are the frames. Every frame is parsed in place,
// reassembled and inflated within the reader's message limit, or reported as an error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fleet/frame_reader.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const bool deflate = data[0] & 0x80;
    const std::size_t slice = (data[0] & 0x7F) == 0 ? size : (data[0] & 0x7F);
    const std::size_t max_message = 4096;  // small, so the limit itself is reached
    fleet::FrameReader reader(max_message);
    if (deflate) reader.enable_inflate();
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    while (!rest.empty()) {
        const std::size_t n = std::min(slice, rest.size());
        auto room = reader.prepare(n);
        fuzz::check(room.size() >= n, "prepare() gave less room than asked");
        std::memcpy(room.data(), rest.data(), n);
        reader.commit(n);
        rest.remove_prefix(n);
        while (true) {
            const auto r = reader.next();
            if (r.status == fleet::FrameReader::Status::need_more) break;
            if (r.status == fleet::FrameReader::Status::error) {
                fuzz::check(!r.error.empty(), "an error without a reason");
                return 0;  // the client drops the connection here
            }
            fuzz::check(r.frame.payload.size() <= max_message,
                        "a message over the limit was delivered");
        }
    }
    return 0;
}
