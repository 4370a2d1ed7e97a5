// protocol.hpp: the client → server messages, parsed into values, and the control messages the
// server sends back. Pure functions: no sockets, easy to test and fuzz.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/source.hpp"
#include "engine/stream.hpp"

namespace streambed::engine {

class Hub;

enum class ErrorCode {
    bad_json,
    bad_request,
    unknown_action,
    unknown_channel,
    too_many_subscriptions,
    rate_limited
};
std::string_view name(ErrorCode code);

struct ProtocolError {
    ErrorCode code;
    std::string message;
};

struct SubscribeRequest {
    bool subscribe = true;  // false: unsubscribe
    std::vector<std::string> channels;
    std::map<std::string, std::uint64_t> since;  // present only when the request had `since`
    bool has_since = false;
    std::optional<std::string> epoch;  // the epoch `since` was read under, when given
};

struct PingRequest {
    std::string id_json;  // the ping's id, re-serialized; empty when the ping had none
};

using ClientRequest = std::variant<SubscribeRequest, PingRequest, ProtocolError>;

ClientRequest parse_client_message(std::string_view text);

// Control messages
std::string welcome_json(Endpoint endpoint, std::string_view session,
                         const std::vector<std::string>& channels, std::int64_t heartbeat_ms,
                         const ClockAnchor& clock_now, std::string_view epoch);
// The welcome of a session opening at `wall_us`: the hub's channels of the endpoint, its clock
// anchored at that instant, its epoch.
std::string welcome_json(Endpoint endpoint, std::string_view session, const Hub& hub,
                         std::int64_t heartbeat_ms, std::int64_t wall_us);
// `out` = the ?batch=1 array frame of `messages`: "[m1,m2,…]".
void batch_array(std::string& out, std::span<const MessagePtr> messages);
std::string subscribed_json(const std::vector<std::string>& channels,
                            const std::map<std::string, bool>* recovered);
std::string unsubscribed_json(const std::vector<std::string>& channels);
std::string pong_json(const PingRequest& ping);
std::string reset_json(std::string_view channel, std::uint64_t latest_seq,
                       Stream::ResetReason reason = Stream::ResetReason::history_exceeded);
std::string_view name(Stream::ResetReason reason);
std::string error_json(ErrorCode code, std::string_view message);

}  // namespace streambed::engine
