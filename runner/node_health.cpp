// node_health.cpp: GET /q/health over a blocking socket with timeouts, and its redis check.
#include "runner/node_health.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runner/loopback.hpp"

namespace streambed::runner {
namespace {

// The whole response of GET `target`, or empty when the node did not answer in time.
std::string http_get(std::uint16_t port, const char* target, std::chrono::milliseconds deadline) {
    const int fd =
        connect_loopback(port, std::chrono::duration_cast<std::chrono::microseconds>(deadline));
    if (fd < 0) return {};
    std::string response;
    const std::string req =
        std::string("GET ") + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0 && response.size() < 65536;)
            response.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return response;
}

}  // namespace

NodeHealth read_node_health(std::uint16_t port, std::chrono::milliseconds deadline) {
    NodeHealth h;
    const auto response = http_get(port, "/q/health", deadline);
    const auto body = response.find("\r\n\r\n");
    if (body == std::string::npos) return h;
    const auto health = nlohmann::json::parse(response.substr(body + 4), nullptr, false);
    if (!health.is_object() || !health.contains("checks") || !health["checks"].is_array()) return h;
    for (const auto& c : health["checks"]) {
        if (!c.is_object() || c.value("name", "") != "redis") continue;
        const auto data = c.value("data", nlohmann::json::object());
        if (c.value("status", "") != "UP") {
            h.state = NodeHealth::State::down;
            h.reason = data.is_object() ? data.value("reason", "") : "";
        } else {
            const bool source = data.is_object() && data.value("role", "") == "source";
            h.state = source ? NodeHealth::State::source : NodeHealth::State::follower;
        }
    }
    return h;
}

const char* state_name(NodeHealth::State state) {
    switch (state) {
        case NodeHealth::State::unreachable:
            return "unreachable";
        case NodeHealth::State::source:
            return "source";
        case NodeHealth::State::follower:
            return "follower";
        case NodeHealth::State::down:
            return "DOWN";
    }
    return "?";
}

}  // namespace streambed::runner
