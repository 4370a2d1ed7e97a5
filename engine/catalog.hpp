// catalog.hpp: the protocol's fixed vocabulary — the six endpoints and the seven message types,
// which types are states (snapshotted, conflated) and which are events.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace streambed::engine {

enum class Endpoint : std::uint8_t {
    channels,
    transactions,
    validators,
    consensus,
    network,
    metrics
};
inline constexpr std::size_t kEndpointCount = 6;
inline constexpr std::array<Endpoint, kEndpointCount> kEndpoints = {
    Endpoint::channels,  Endpoint::transactions, Endpoint::validators,
    Endpoint::consensus, Endpoint::network,      Endpoint::metrics};

struct EndpointInfo {
    std::string_view path;            // "/ws/channels"
    std::string_view name;            // "channels", as in /api/v11/poll/{name}
    std::string_view single_channel;  // non-empty: the endpoint's only channel, subscribed on open
};

const EndpointInfo& info(Endpoint e);
inline std::size_t index(Endpoint e) {
    return static_cast<std::size_t>(e);
}

// "/ws/metrics" -> metrics; the query string must already be stripped.
std::optional<Endpoint> endpoint_from_path(std::string_view path);
// "metrics" or "/ws/metrics" -> metrics (the polling API accepts both).
std::optional<Endpoint> endpoint_from_name(std::string_view name);

enum class MessageType : std::uint8_t {
    channel_update,
    block,
    transaction,
    validator_update,
    consensus_update,
    network_status,
    metrics,
    control,  // welcome, subscribed, error, ...: per-session, never shared, never conflated
};

std::string_view name(MessageType t);
// "metrics" -> metrics; nullopt for names that are not data message types.
std::optional<MessageType> message_type_from_name(std::string_view name);
// States are snapshotted on subscribe and conflated under back-pressure; events never are.
bool is_state(MessageType t);

}  // namespace streambed::engine
