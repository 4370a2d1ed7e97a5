// protocol.cpp: parsing of client messages and building of control messages (nlohmann/json).
#include "engine/protocol.hpp"
#include "engine/clock.hpp"
#include "engine/hub.hpp"
#include "engine/json_text.hpp"

#include <nlohmann/json.hpp>

namespace streambed::engine {
using ojson = nlohmann::ordered_json;  // "type" first, as in the spec

namespace {

ProtocolError bad(std::string message) {
    return {ErrorCode::bad_request, std::move(message)};
}

std::optional<ProtocolError> read_channels(const ojson& msg, SubscribeRequest& out) {
    auto it = msg.find("channels");
    if (it == msg.end()) return bad("'channels' is required: an array of channel ids");
    if (!it->is_array()) return bad("'channels' must be an array of channel ids");
    if (it->empty()) return bad("'channels' must not be empty");
    for (const auto& c : *it) {
        if (!c.is_string()) return bad("'channels' must hold strings only");
        out.channels.push_back(c.get<std::string>());
    }
    return std::nullopt;
}

std::optional<ProtocolError> read_since(const ojson& msg, SubscribeRequest& out) {
    auto it = msg.find("since");
    if (it == msg.end()) return std::nullopt;
    if (!it->is_object()) return bad("'since' must be an object of channel id to seq");
    out.has_since = true;
    for (const auto& [channel, seq] : it->items()) {
        if (!seq.is_number_unsigned() && !(seq.is_number_integer() && seq.get<std::int64_t>() >= 0))
            return bad("'since." + channel + "' must be a non-negative integer seq");
        out.since[channel] = seq.get<std::uint64_t>();
    }
    return std::nullopt;
}

std::optional<ProtocolError> read_epoch(const ojson& msg, SubscribeRequest& out) {
    auto it = msg.find("epoch");
    if (it == msg.end()) return std::nullopt;
    if (!it->is_string()) return bad("'epoch' must be a string: the welcome's epoch");
    out.epoch = it->get<std::string>();
    return std::nullopt;
}

}  // namespace

std::string_view name(ErrorCode code) {
    switch (code) {
        case ErrorCode::bad_json:
            return "bad_json";
        case ErrorCode::bad_request:
            return "bad_request";
        case ErrorCode::unknown_action:
            return "unknown_action";
        case ErrorCode::unknown_channel:
            return "unknown_channel";
        case ErrorCode::too_many_subscriptions:
            return "too_many_subscriptions";
        case ErrorCode::rate_limited:
            return "rate_limited";
    }
    return "bad_request";
}

ClientRequest parse_client_message(std::string_view text) {
    ojson msg = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded()) return ProtocolError{ErrorCode::bad_json, "message is not valid JSON"};
    if (!msg.is_object())
        return bad("message must be a JSON object such as {\"action\":\"subscribe\",...}");
    auto action = msg.find("action");
    if (action == msg.end() || !action->is_string())
        return bad("'action' is required: subscribe, unsubscribe or ping");
    const auto& a = action->get_ref<const std::string&>();
    if (a == "subscribe" || a == "unsubscribe") {
        SubscribeRequest req;
        req.subscribe = a == "subscribe";
        if (auto err = read_channels(msg, req)) return *err;
        if (req.subscribe) {
            if (auto err = read_since(msg, req)) return *err;
            if (auto err = read_epoch(msg, req)) return *err;
        }
        return req;
    }
    if (a == "ping") {
        PingRequest ping;
        if (auto id = msg.find("id"); id != msg.end()) ping.id_json = json_text(*id);
        return ping;
    }
    // Shown up to 64 bytes, cut on a UTF-8 character boundary.
    std::size_t cut = std::min<std::size_t>(a.size(), 64);
    while (cut > 0 && cut < a.size() && (static_cast<unsigned char>(a[cut]) & 0xC0) == 0x80) --cut;
    const std::string shown = cut < a.size() ? a.substr(0, cut) + "..." : a;
    return ProtocolError{ErrorCode::unknown_action,
                         "unknown action '" + shown + "': use subscribe, unsubscribe or ping"};
}

std::string welcome_json(Endpoint endpoint, std::string_view session,
                         const std::vector<std::string>& channels, std::int64_t heartbeat_ms,
                         const ClockAnchor& clock_now, std::string_view epoch) {
    ojson j = {
        {"type", "welcome"},
        {"protocol", 1},
        {"endpoint", info(endpoint).path},
        {"session", session},
        {"channels", channels},
        {"heartbeatMs", heartbeat_ms},
        {"clock",
         {{"time", clock_now.sim_ms}, {"wall", clock_now.wall_us}, {"scale", clock_now.scale}}},
        {"epoch", epoch}};
    return json_text(j);
}

std::string welcome_json(Endpoint endpoint, std::string_view session, const Hub& hub,
                         std::int64_t heartbeat_ms, std::int64_t wall_us) {
    std::vector<std::string> channels;
    for (auto* s : hub.streams_of(endpoint)) channels.push_back(s->channel());
    return welcome_json(endpoint, session, channels, heartbeat_ms, anchor_at(hub.clock(), wall_us),
                        hub.epoch());
}

void batch_array(std::string& out, std::span<const MessagePtr> messages) {
    out.clear();
    out += '[';
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i) out += ',';
        out += messages[i]->bytes;
    }
    out += ']';
}

std::string subscribed_json(const std::vector<std::string>& channels,
                            const std::map<std::string, bool>* recovered) {
    ojson j = {{"type", "subscribed"}, {"channels", channels}};
    if (recovered) j["recovered"] = *recovered;
    return json_text(j);
}

std::string unsubscribed_json(const std::vector<std::string>& channels) {
    return json_text(ojson{{"type", "unsubscribed"}, {"channels", channels}});
}

std::string pong_json(const PingRequest& ping) {
    if (ping.id_json.empty()) return R"({"type":"pong"})";
    return R"({"type":"pong","id":)" + ping.id_json + "}";
}

std::string_view name(Stream::ResetReason reason) {
    return reason == Stream::ResetReason::epoch_changed ? "epoch_changed" : "history_exceeded";
}

std::string reset_json(std::string_view channel, std::uint64_t latest_seq,
                       Stream::ResetReason reason) {
    return json_text(ojson{
        {"type", "reset"}, {"channel", channel}, {"seq", latest_seq}, {"reason", name(reason)}});
}

std::string error_json(ErrorCode code, std::string_view message) {
    return json_text(ojson{{"type", "error"}, {"code", name(code)}, {"message", message}});
}

}  // namespace streambed::engine
