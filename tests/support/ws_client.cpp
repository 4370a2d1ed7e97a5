// ws_client.cpp: the test client on Beast, driven asynchronously with io_context::run_for so
// that every operation has a deadline.
#include "tests/support/ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <stdexcept>

namespace streambed::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// Runs `ioc` until `done` or the deadline; returns whether the operation completed.
bool run_until(asio::io_context& ioc, const bool& done, std::chrono::milliseconds deadline) {
    ioc.restart();
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!done && std::chrono::steady_clock::now() < end) {
        ioc.run_one_for(end - std::chrono::steady_clock::now());
    }
    return done;
}

tcp::socket connect_socket(asio::io_context& ioc, std::uint16_t port) {
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    s.set_option(tcp::no_delay(true));
    return s;
}

HttpResult request(std::uint16_t port, const std::string& target,
                   const std::map<std::string, std::string>& headers, bool upgrade) {
    asio::io_context ioc;
    beast::tcp_stream stream(connect_socket(ioc, port));
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (upgrade) {
        req.set(http::field::upgrade, "websocket");
        req.set(http::field::connection, "Upgrade");
        req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
        req.set(http::field::sec_websocket_version, "13");
    }
    for (auto& [k, v] : headers) req.set(k, v);
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.skip(false);
    bool done = false;
    beast::error_code result;
    if (upgrade) {
        // A 101 has no body: read the header only.
        http::async_read_header(stream, buf, parser, [&](beast::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
    } else {
        http::async_read(stream, buf, parser, [&](beast::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
    }
    if (!run_until(ioc, done, std::chrono::seconds(5)))
        throw std::runtime_error("HTTP: no response in 5 s");
    if (result) throw std::runtime_error("HTTP: " + result.message());
    if (upgrade && parser.get().result_int() != 101 && !parser.is_done()) {
        // A refusal has a body: read it too.
        done = false;
        http::async_read(stream, buf, parser, [&](beast::error_code ec, std::size_t) {
            result = ec;
            done = true;
        });
        if (!run_until(ioc, done, std::chrono::seconds(5)))
            throw std::runtime_error("HTTP: no body in 5 s");
    }
    auto res = parser.release();
    HttpResult out;
    out.status = static_cast<int>(res.result_int());
    for (auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out.headers[name] = std::string(f.value());
    }
    out.body = res.body();
    return out;
}

}  // namespace

HttpResult http_get(std::uint16_t port, const std::string& target,
                    const std::map<std::string, std::string>& headers) {
    return request(port, target, headers, false);
}

json websocket_stats(std::uint16_t port) {
    return http_get(port, "/api/v11/websocket/stats").body_json();
}

std::uint64_t websocket_stat(std::uint16_t port, const char* name) {
    return websocket_stats(port)[name].get<std::uint64_t>();
}

HttpResult try_upgrade(std::uint16_t port, const std::string& target,
                       const std::map<std::string, std::string>& headers) {
    return request(port, target, headers, true);
}

struct WsClient::Impl {
    asio::io_context ioc;
    websocket::stream<tcp::socket> ws{ioc};
    beast::flat_buffer buffer;
    std::chrono::milliseconds read_timeout;
    bool is_closed = false;
    std::size_t pings = 0;
    std::vector<std::string> pongs;
    websocket::response_type handshake_response;
};

WsClient::WsClient(std::uint16_t port, const std::string& target,
                   std::chrono::milliseconds read_timeout,
                   const std::map<std::string, std::string>& headers, bool offer_deflate)
    : impl_(std::make_unique<Impl>()) {
    impl_->read_timeout = read_timeout;
    impl_->ws.next_layer() = connect_socket(impl_->ioc, port);
    impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
        for (auto& [k, v] : headers) req.set(k, v);
    }));
    impl_->ws.read_message_max(64 << 20);
    if (offer_deflate) {
        websocket::permessage_deflate pmd;
        pmd.client_enable = true;
        impl_->ws.set_option(pmd);
    }
    impl_->ws.control_callback(
        [impl = impl_.get()](websocket::frame_type kind, beast::string_view payload) {
            if (kind == websocket::frame_type::ping) ++impl->pings;
            if (kind == websocket::frame_type::pong) impl->pongs.emplace_back(payload);
        });
    bool done = false;
    beast::error_code result;
    impl_->ws.async_handshake(impl_->handshake_response, "127.0.0.1", target,
                              [&](beast::error_code ec) {
                                  result = ec;
                                  done = true;
                              });
    if (!run_until(impl_->ioc, done, std::chrono::seconds(5)))
        throw std::runtime_error("handshake timed out");
    if (result) throw std::runtime_error("handshake: " + result.message());
}

WsClient::~WsClient() = default;
WsClient::WsClient(WsClient&&) noexcept = default;

void WsClient::send(const std::string& text) {
    impl_->ws.text(true);
    impl_->ws.write(asio::buffer(text));
}

void WsClient::send_binary(const std::string& bytes) {
    impl_->ws.binary(true);
    impl_->ws.write(asio::buffer(bytes));
    impl_->ws.text(true);
}

std::optional<std::string> WsClient::read() {
    if (impl_->is_closed) return std::nullopt;
    bool done = false;
    beast::error_code result;
    impl_->buffer.clear();
    impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, std::size_t) {
        result = ec;
        done = true;
    });
    if (!run_until(impl_->ioc, done, impl_->read_timeout)) {
        // Give up on this read: cancel it and let the handler run.
        impl_->ws.next_layer().cancel();
        run_until(impl_->ioc, done, std::chrono::seconds(1));
        impl_->is_closed = true;  // a cancelled read leaves the stream unusable
        return std::nullopt;
    }
    if (result) {
        impl_->is_closed = true;
        return std::nullopt;
    }
    return beast::buffers_to_string(impl_->buffer.data());
}

std::string WsClient::read_text() {
    auto m = read();
    if (!m) {
        throw std::runtime_error(closed() && close_code()
                                     ? "connection closed with " + std::to_string(close_code())
                                     : "no message before the deadline");
    }
    return *m;
}

json WsClient::read_until_type(const std::string& type) {
    while (true) {
        auto j = read_json();
        if (j.is_object() && j.value("type", "") == type) return j;
    }
}

bool WsClient::closed() const {
    return impl_->is_closed;
}
int WsClient::close_code() const {
    return static_cast<int>(impl_->ws.reason().code);
}
std::string WsClient::close_reason() const {
    return std::string(impl_->ws.reason().reason.c_str());
}

void WsClient::close(int code) {
    if (impl_->is_closed) return;
    bool done = false;
    impl_->ws.async_close(websocket::close_reason(static_cast<std::uint16_t>(code)),
                          [&](beast::error_code) { done = true; });
    run_until(impl_->ioc, done, std::chrono::seconds(2));
    impl_->is_closed = true;
}

void WsClient::set_read_timeout(std::chrono::milliseconds t) {
    impl_->read_timeout = t;
}

void WsClient::shrink_receive_buffer(int bytes) {
    impl_->ws.next_layer().set_option(asio::socket_base::receive_buffer_size(bytes));
}

std::size_t WsClient::pings_received() const {
    return impl_->pings;
}

void WsClient::ping(const std::string& payload) {
    impl_->ws.ping(websocket::ping_data(payload.c_str()));
}

std::vector<std::string> WsClient::pongs_received() const {
    return impl_->pongs;
}

std::string WsClient::extensions() const {
    return std::string(impl_->handshake_response[http::field::sec_websocket_extensions]);
}

std::string raw_request(std::uint16_t port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
        char buf[4096];
        ssize_t n;
        while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
            answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return answer;
}

std::string upgrade_request(const std::string& extra) {
    return "GET /ws/metrics HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: "
           "Upgrade\r\n" +
           extra + "\r\n";
}

std::string body_of(const std::string& answer) {
    const auto end = answer.find("\r\n\r\n");
    return end == std::string::npos ? std::string() : answer.substr(end + 4);
}

}  // namespace streambed::testing
