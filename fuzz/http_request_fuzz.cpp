// http_request_fuzz.cpp: the HTTP request and WebSocket upgrade path of a real server — the input
// is written as is to a fresh loopback connection of an in-process server (with an auth token,
// an allowed origin and a short history), the writing side is closed, and the answer is read to
// the end. A request that upgrades goes on into the WebSocket session: the rest of the input is
// its frames. Whatever arrives must start as an HTTP/1.1 response.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "engine/server.hpp"
#include "fuzz/fuzz_check.hpp"

using namespace streambed;

namespace {

engine::Server& server() {
    static engine::Server* s = [] {
        engine::ServerOptions o;
        o.port = 0;
        o.threads = 1;
        o.history = 4;
        o.auth_token = "fuzz-token";  // the seeds present it both ways (header and ?token=)
        o.allowed_origins = {"http://localhost"};
        // A request cut short waits for no more than this: the input is all there is.
        o.handshake_timeout = std::chrono::milliseconds(500);
        auto* made = new engine::Server(o);
        made->start();
        auto& p = made->publisher();
        for (auto endpoint : engine::kEndpoints) {
            const auto id = p.declare_stream(endpoint, engine::info(endpoint).name);
            for (int i = 0; i < 6; ++i)
                p.publish(id, engine::MessageType::metrics, 1000 * i, R"({"n":1})");
        }
        return made;
    }();
    return *s;
}

// libFuzzer's timeout alarm interrupts system calls: an interrupted connect() goes on by itself,
// and is waited for rather than failed.
void connect_to_server(int fd, const sockaddr_in& addr) {
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return;
    fuzz::check(errno == EINTR, "connect() failed", std::strerror(errno));
    pollfd p{fd, POLLOUT, 0};
    while (::poll(&p, 1, 5000) < 0 && errno == EINTR) {
    }
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    fuzz::check((p.revents & POLLOUT) && error == 0, "connect() failed after an interruption",
                std::strerror(error));
}

// The server's whole answer; "" when it closed without one. Gives up after two seconds, which
// only a WebSocket session left open by the input (never closed by it) can take.
std::string exchange(std::string_view input) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    fuzz::check(fd >= 0, "socket() failed", std::strerror(errno));
    // The client closes its side first, so each exchange leaves a TIME_WAIT behind for a minute:
    // from one source address, a few hundred exchanges a second would use up the ephemeral
    // ports. Every connection comes from the next of 127.0.0.1 … 127.0.0.254 instead (the port
    // picked at connect(), so the four-tuple, not the port alone, has to be free).
    static unsigned next_source = 0;
    const int no_port = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &no_port, sizeof no_port);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + next_source++ % 254);
    fuzz::check(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source) == 0,
                "bind() failed", std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(server().port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect_to_server(fd, addr);
    std::size_t sent = 0;
    while (sent < input.size()) {
        const auto n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // the server closed first (a refusal): what it said is still readable
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    char buf[16384];
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto answer = exchange(input);
    fuzz::check(answer.empty() || answer.starts_with("HTTP/1.1 "),
                "the answer is not an HTTP/1.1 response", answer.substr(0, 200));
    return 0;
}
