// options_parse.cpp: duration, time-scale and ws:// target values.
#include "app/options_parse.hpp"

#include <charconv>
#include <cmath>

namespace streambed::app {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() || !(value >= 0) || !std::isfinite(value))
        return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double ms;
    if (unit.empty() || unit == "ms")
        ms = value;
    else if (unit == "s")
        ms = value * 1000;
    else if (unit == "m")
        ms = value * 60'000;
    else
        return std::nullopt;
    if (ms > 1e12) return std::nullopt;
    return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::optional<double> parse_time_scale(std::string_view text) {
    if (text == "max") return 0.0;
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !(value > 0) ||
        !std::isfinite(value) || value > 1e9)
        return std::nullopt;
    return value;
}

std::optional<WsTarget> parse_ws_target(std::string_view text, std::string& error) {
    WsTarget t;
    std::string_view rest;
    if (text.starts_with("ws://")) {
        rest = text.substr(5);
    } else if (text.starts_with("wss://")) {
        rest = text.substr(6);
        t.tls = true;
    } else {
        error = "must look like ws://HOST:PORT or wss://HOST:PORT";
        return std::nullopt;
    }
    // The authority ends at the first '/' after the host (an IPv6 literal's brackets hold none).
    if (const auto slash = rest.find('/', rest.starts_with('[') ? rest.find(']') : 0);
        slash != std::string_view::npos) {
        const auto path = rest.substr(slash);
        rest = rest.substr(0, slash);
        if (path != "/") {
            if (!path.starts_with("/ws/") || path.size() == 4 ||
                path.find_first_of("?#% ") != std::string_view::npos) {
                error = "path '" + std::string(path) + "' is not a WebSocket endpoint (/ws/NAME)";
                return std::nullopt;
            }
            t.path = std::string(path);
        }
    }
    std::string_view port;
    if (rest.starts_with('[')) {  // [IPv6]:PORT
        const auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            error = "must look like ws://[IPV6]:PORT";
            return std::nullopt;
        }
        t.host = std::string(rest.substr(1, close - 1));
        port = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            error = "has no port: it must look like ws://HOST:PORT";
            return std::nullopt;
        }
        t.host = std::string(rest.substr(0, colon));
        port = rest.substr(colon + 1);
        if (t.host.find(':') != std::string::npos) {
            error = "an IPv6 address must be in brackets: ws://[::1]:PORT";
            return std::nullopt;
        }
    }
    if (t.host.empty() || t.host.find_first_of("/?#@ ") != std::string::npos) {
        error = "has no valid host: it must look like ws://HOST:PORT";
        return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
        value > 65535) {
        error = "port '" + std::string(port) + "' is not a port number (1-65535)";
        return std::nullopt;
    }
    t.port = static_cast<std::uint16_t>(value);
    return t;
}

}  // namespace streambed::app
