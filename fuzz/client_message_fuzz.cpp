// client_message_fuzz.cpp: the inbound client-message handler (engine/protocol.hpp) — any text
// frame a client sends is parsed into a request or a protocol error, and the answer built from
// it (pong, subscribed, error) is valid JSON of the right type.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "engine/protocol.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto request = engine::parse_client_message(text);
    std::string answer;
    std::string_view type;
    if (const auto* ping = std::get_if<engine::PingRequest>(&request)) {
        answer = engine::pong_json(*ping);
        type = "pong";
    } else if (const auto* sub = std::get_if<engine::SubscribeRequest>(&request)) {
        fuzz::check(!sub->channels.empty(), "a subscribe without channels was accepted", text);
        fuzz::check(sub->subscribe || !sub->has_since, "an unsubscribe carried 'since'", text);
        answer = sub->subscribe ? engine::subscribed_json(sub->channels, nullptr)
                                : engine::unsubscribed_json(sub->channels);
        type = sub->subscribe ? "subscribed" : "unsubscribed";
    } else {
        const auto& error = std::get<engine::ProtocolError>(request);
        fuzz::check(!error.message.empty(), "a protocol error without a message", text);
        answer = engine::error_json(error.code, error.message);
        type = "error";
    }
    const auto j = fuzz::require_json(answer, "the answer is not valid JSON");
    fuzz::check(j.is_object() && j.value("type", "") == type, "the answer has the wrong type",
                answer);
    return 0;
}
