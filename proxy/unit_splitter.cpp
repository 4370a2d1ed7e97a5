// unit_splitter.cpp: the unit boundaries of a byte stream (HTTP heads, WebSocket frames, raw
// pieces).
#include "proxy/unit_splitter.hpp"

#include <algorithm>
#include <cctype>

namespace streambed::proxy {
namespace {

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

// "Upgrade: websocket" among the request's header lines.
bool requests_upgrade(std::string_view head) {
    const std::string h = lower(head);
    std::size_t pos = 0;
    while ((pos = h.find("\nupgrade:", pos)) != std::string::npos) {
        pos += 9;
        const auto eol = h.find('\r', pos);
        if (h.substr(pos, eol - pos).find("websocket") != std::string::npos) return true;
    }
    return false;
}

}  // namespace

void UnitSplitter::split(std::string_view data, std::vector<Segment>& out) {
    while (!data.empty()) {
        std::size_t used = 0;
        switch (mode_) {
            case Mode::head:
                used = split_head(data, out);
                break;
            case Mode::frames:
                used = split_frame(data, out);
                break;
            case Mode::raw:
                used = split_raw(data, out);
                break;
        }
        data.remove_prefix(used);
    }
}

std::size_t UnitSplitter::split_head(std::string_view data, std::vector<Segment>& out) {
    const bool first = head_.empty();
    // Take bytes up to the end of the head ("\r\n\r\n" may straddle reads) or the bound.
    std::size_t take = std::min(data.size(), kMaxHead - head_.size());
    const std::size_t before = head_.size();
    head_.append(data.substr(0, take));
    const std::size_t from = before >= 3 ? before - 3 : 0;
    const auto end = head_.find("\r\n\r\n", from);
    bool done = head_.size() >= kMaxHead;
    if (end != std::string::npos) {
        take = end + 4 - before;
        head_.resize(end + 4);
        done = true;
    }
    out.push_back(Segment{take, first, done, false, false});
    if (done) end_head();
    return take;
}

void UnitSplitter::end_head() {
    const bool complete = head_.size() >= 4 && head_.compare(head_.size() - 4, 4, "\r\n\r\n") == 0;
    bool frames = false;
    if (complete && start_ == Start::http_request) frames = requests_upgrade(head_);
    if (complete && start_ == Start::http_response)
        frames = head_.rfind("HTTP/1.1 101", 0) == 0 || head_.rfind("HTTP/1.0 101", 0) == 0;
    mode_ = frames ? Mode::frames : Mode::raw;
    head_.clear();
    head_.shrink_to_fit();
}

std::size_t UnitSplitter::split_frame(std::string_view data, std::vector<Segment>& out) {
    if (!in_payload_) {
        const bool first = header_have_ == 0;
        std::size_t used = 0;
        while (used < data.size() && header_have_ < header_need_) {
            header_[header_have_++] = static_cast<std::uint8_t>(data[used++]);
            if (header_have_ == 2) {
                const std::uint8_t len7 = header_[1] & 0x7f;
                header_need_ = 2 +
                               (len7 == 126   ? 2
                                : len7 == 127 ? 8
                                              : 0) +
                               ((header_[1] & 0x80) ? 4 : 0);
            }
        }
        bool end = false;
        if (header_have_ == header_need_) {
            fin_ = (header_[0] & 0x80) != 0;
            opcode_ = header_[0] & 0x0f;
            const std::uint8_t len7 = header_[1] & 0x7f;
            std::uint64_t len = len7;
            if (len7 == 126) len = (std::uint64_t{header_[2]} << 8) | header_[3];
            if (len7 == 127) {
                len = 0;
                for (int k = 0; k < 8; ++k) len = (len << 8) | header_[2 + k];
            }
            payload_length_ = payload_left_ = len;
            header_have_ = 0;
            header_need_ = 2;
            in_payload_ = len > 0;
            end = len == 0;
        }
        out.push_back(Segment{used, first, end, true, false});
        return used;
    }
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, data.size()));
    payload_left_ -= take;
    const bool end = payload_left_ == 0;
    if (end) in_payload_ = false;
    out.push_back(Segment{take, false, end, true, true});
    return take;
}

std::size_t UnitSplitter::split_raw(std::string_view data, std::vector<Segment>& out) {
    const std::size_t take = std::min(data.size(), kRawUnit - raw_in_unit_);
    const bool first = raw_in_unit_ == 0;
    raw_in_unit_ += take;
    const bool end = raw_in_unit_ == kRawUnit;
    if (end) raw_in_unit_ = 0;
    out.push_back(Segment{take, first, end, false, false});
    return take;
}

}  // namespace streambed::proxy
