// options_parse.hpp: parsing of option values the CLI shares (durations with ms/s/m suffixes,
// time scales, ws:// and wss:// targets).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streambed::app {

// "250ms", "2s", "1m", "1.5s"; a bare number is milliseconds. nullopt when malformed.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// "max" (as fast as possible: 0) or a positive, finite number of simulated ms per wall ms.
std::optional<double> parse_time_scale(std::string_view text);

// "ws://HOST:PORT" or "wss://HOST:PORT" (TLS), optionally followed by an endpoint's path
// ("/ws/metrics"): HOST a name, an IPv4 literal or a bracketed IPv6 literal ("[::1]", returned
// without brackets), PORT 1..65535 in decimal. nullopt when malformed; `error` says why.
struct WsTarget {
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;  // wss://
    std::string path;  // "/ws/…", or empty when none was given
};
std::optional<WsTarget> parse_ws_target(std::string_view text, std::string& error);

}  // namespace streambed::app
