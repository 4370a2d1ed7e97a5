// catalog.cpp: the endpoint and message-type tables of protocol v1.
#include "engine/catalog.hpp"

namespace streambed::engine {
namespace {

constexpr std::array<EndpointInfo, kEndpointCount> kInfo = {{
    {"/ws/channels", "channels", ""},
    {"/ws/transactions", "transactions", ""},
    {"/ws/validators", "validators", ""},
    {"/ws/consensus", "consensus", "consensus"},
    {"/ws/network", "network", "network"},
    {"/ws/metrics", "metrics", "metrics"},
}};

}  // namespace

const EndpointInfo& info(Endpoint e) {
    return kInfo[index(e)];
}

std::optional<Endpoint> endpoint_from_path(std::string_view path) {
    for (auto e : kEndpoints)
        if (info(e).path == path) return e;
    return std::nullopt;
}

std::optional<Endpoint> endpoint_from_name(std::string_view name) {
    for (auto e : kEndpoints)
        if (info(e).name == name || info(e).path == name) return e;
    return std::nullopt;
}

std::string_view name(MessageType t) {
    switch (t) {
        case MessageType::channel_update:
            return "channel_update";
        case MessageType::block:
            return "block";
        case MessageType::transaction:
            return "transaction";
        case MessageType::validator_update:
            return "validator_update";
        case MessageType::consensus_update:
            return "consensus_update";
        case MessageType::network_status:
            return "network_status";
        case MessageType::metrics:
            return "metrics";
        case MessageType::control:
            return "control";
    }
    return "control";
}

std::optional<MessageType> message_type_from_name(std::string_view n) {
    for (auto t : {MessageType::channel_update, MessageType::block, MessageType::transaction,
                   MessageType::validator_update, MessageType::consensus_update,
                   MessageType::network_status, MessageType::metrics})
        if (name(t) == n) return t;
    return std::nullopt;
}

bool is_state(MessageType t) {
    switch (t) {
        case MessageType::channel_update:
        case MessageType::validator_update:
        case MessageType::consensus_update:
        case MessageType::network_status:
        case MessageType::metrics:
            return true;
        case MessageType::block:
        case MessageType::transaction:
        case MessageType::control:
            return false;
    }
    return false;
}

}  // namespace streambed::engine
