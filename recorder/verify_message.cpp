// verify_message.cpp: reading one message of a session for verify — the data envelope by
// hand (it is on every message compared), control messages as JSON, subscribe requests as the
// server parses them.
#include "recorder/verify_message.hpp"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <variant>

#include "engine/catalog.hpp"
#include "engine/protocol.hpp"

namespace streambed::recorder {
using json = nlohmann::json;

bool parse_data_message(std::string_view text, SessionMessage& item) {
    constexpr std::string_view kType = R"({"type":")", kChannel = R"(","channel":")",
                               kSeq = R"(","seq":)", kTime = R"(,"time":)", kData = R"(,"data":)";
    if (!text.starts_with(kType)) return false;
    std::size_t pos = kType.size();
    const auto type_end = text.find('"', pos);
    if (type_end == std::string_view::npos) return false;
    const auto type = engine::message_type_from_name(text.substr(pos, type_end - pos));
    if (!type) return false;
    item.state = engine::is_state(*type);
    pos = type_end;
    if (text.substr(pos, kChannel.size()) != kChannel) return false;
    pos += kChannel.size();
    const auto channel_end = text.find('"', pos);
    if (channel_end == std::string_view::npos) return false;
    item.channel = std::string(text.substr(pos, channel_end - pos));
    pos = channel_end;
    if (text.substr(pos, kSeq.size()) != kSeq) return false;
    pos += kSeq.size();
    const char* end = text.data() + text.size();
    auto seq = std::from_chars(text.data() + pos, end, item.seq);
    if (seq.ec != std::errc()) return false;
    pos = static_cast<std::size_t>(seq.ptr - text.data());
    if (text.substr(pos, kTime.size()) != kTime) return false;
    pos += kTime.size();
    auto time = std::from_chars(text.data() + pos, end, item.time);
    if (time.ec != std::errc()) return false;
    pos = static_cast<std::size_t>(time.ptr - text.data());
    if (text.substr(pos, kData.size()) != kData) return false;
    item.data = true;
    return true;
}

std::string normalized_control(std::string_view text) {
    auto j = json::parse(text, nullptr, false);
    if (!j.is_object()) return std::string(text);
    const auto type = j.value("type", "");
    if (type == "welcome") {
        j.erase("session");
        j.erase("clock");
        return j.dump();
    }
    if (type == "reset") {
        j.erase("seq");
        return j.dump();
    }
    return std::string(text);
}

std::vector<std::string_view> split_frame(std::string_view frame) {
    if (frame.empty() || frame.front() != '[' || frame.back() != ']') return {frame};
    std::vector<std::string_view> parts;
    int depth = 0;
    bool in_string = false, escaped = false;
    std::size_t start = 1;
    for (std::size_t i = 1; i + 1 < frame.size(); ++i) {
        const char c = frame[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if (c == '}' || c == ']') {
            --depth;
        } else if (c == ',' && depth == 0) {
            parts.push_back(frame.substr(start, i - start));
            start = i + 1;
        }
    }
    if (depth != 0 || in_string || start >= frame.size() - 1) return {frame};  // not a batch
    parts.push_back(frame.substr(start, frame.size() - 1 - start));
    return parts;
}

bool subscribed_to(const RecordedSession& session, std::string_view channel) {
    if (const auto endpoint = engine::endpoint_from_path(session.endpoint);
        endpoint && engine::info(*endpoint).single_channel == channel)
        return true;
    // Read as the server reads it.
    return std::any_of(session.sent.begin(), session.sent.end(), [&](const auto& sent) {
        const auto request = engine::parse_client_message(sent.text);
        const auto* sub = std::get_if<engine::SubscribeRequest>(&request);
        return sub && sub->subscribe &&
               std::any_of(sub->channels.begin(), sub->channels.end(),
                           [&](const std::string& c) { return c == "*" || c == channel; });
    });
}

}  // namespace streambed::recorder
