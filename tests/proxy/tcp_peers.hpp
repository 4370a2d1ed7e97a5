// tcp_peers.hpp: plain TCP peers for the proxy tests — an Asio echo server on a thread of its
// own, and a blocking client whose every read has a deadline (SO_RCVTIMEO).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace streambed::testing {

// Echoes every byte back, on 127.0.0.1, port 0.
class EchoServer {
  public:
    EchoServer() {
        using tcp = boost::asio::ip::tcp;
        acceptor_.open(tcp::v4());
        acceptor_.bind(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        accept();
        thread_ = std::thread([this] { io_.run(); });
    }
    ~EchoServer() {
        io_.stop();
        thread_.join();
    }
    std::uint16_t port() const { return port_; }

  private:
    struct Session : std::enable_shared_from_this<Session> {
        explicit Session(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
        void read() {
            socket.async_read_some(
                boost::asio::buffer(buf),
                [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                    if (ec) return;
                    boost::asio::async_write(self->socket, boost::asio::buffer(self->buf.data(), n),
                                             [self](boost::system::error_code wec, std::size_t) {
                                                 if (!wec) self->read();
                                             });
                });
        }
        boost::asio::ip::tcp::socket socket;
        std::array<char, 16384> buf{};
    };
    void accept() {
        acceptor_.async_accept(
            [this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
                if (ec) return;
                boost::system::error_code ignored;
                s.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
                std::make_shared<Session>(std::move(s))->read();
                accept();
            });
    }
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    std::uint16_t port_ = 0;
    std::thread thread_;
};

// A blocking client on 127.0.0.1. `last_errno()` tells how the last read ended (ECONNRESET…).
class TcpClient {
  public:
    explicit TcpClient(std::uint16_t port,
                       std::chrono::milliseconds read_timeout = std::chrono::seconds(5)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect: " + std::to_string(errno));
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_timeout(read_timeout);
    }
    ~TcpClient() {
        if (fd_ >= 0) ::close(fd_);
    }
    TcpClient(const TcpClient&) = delete;
    TcpClient& operator=(const TcpClient&) = delete;

    void set_timeout(std::chrono::milliseconds t) {
        timeval tv{static_cast<time_t>(t.count() / 1000),
                   static_cast<suseconds_t>((t.count() % 1000) * 1000)};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    bool send(const std::string& bytes) {
        std::size_t off = 0;
        while (off < bytes.size()) {
            const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
            if (n <= 0) {
                last_errno_ = errno;
                return false;
            }
            off += static_cast<std::size_t>(n);
        }
        return true;
    }
    // Up to `n` bytes: fewer when the peer closed, the connection failed or a read timed out.
    std::string read_exact(std::size_t n) {
        std::string out;
        char buf[16384];
        while (out.size() < n) {
            const ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                eof_ = r == 0;
                last_errno_ = r < 0 ? errno : 0;
                break;
            }
            out.append(buf, static_cast<std::size_t>(r));
        }
        return out;
    }
    // Everything until the peer closes (or the connection fails, or a read times out).
    std::string read_to_end() { return read_exact(std::size_t(-1) / 2); }
    bool eof() const { return eof_; }
    int last_errno() const { return last_errno_; }

  private:
    int fd_ = -1;
    bool eof_ = false;
    int last_errno_ = 0;
};

}  // namespace streambed::testing
