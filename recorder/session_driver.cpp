// session_driver.cpp: asynchronous Beast clients on one io_context, each paced by timers.
#include "recorder/session_driver.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "engine/clock.hpp"

namespace streambed::recorder {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// Recorded wall instants to steady time points and back, from one reading of both clocks.
struct Clocks {
    SteadyTime steady_base = std::chrono::steady_clock::now();
    std::int64_t wall_base = engine::wall_now_us();
    std::int64_t shift_us = 0;

    SteadyTime at(std::int64_t recorded_wall_us) const {
        return steady_base + std::chrono::microseconds(recorded_wall_us + shift_us - wall_base);
    }
    std::int64_t now_recorded() const {
        const auto since = std::chrono::duration_cast<std::chrono::microseconds>(
            std::chrono::steady_clock::now() - steady_base);
        return wall_base + since.count() - shift_us;
    }
};

// Sessions not finished yet; the last one to finish stops the watchdog.
struct Progress {
    std::size_t remaining = 0;
    asio::steady_timer* watchdog = nullptr;
};

class Player : public std::enable_shared_from_this<Player> {
  public:
    Player(asio::io_context& ioc, const tcp::endpoint& server, const RecordedSession& session,
           const Clocks& clocks, std::int64_t linger_us, Observed& out, Progress& progress)
        : server_(server),
          session_(session),
          clocks_(clocks),
          linger_us_(linger_us),
          out_(out),
          progress_(progress),
          ws_(ioc),
          timer_(ioc),
          close_timer_(ioc) {}

    void start() {
        timer_.expires_at(clocks_.at(session_.opened_us));
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec) self->connect();
        });
    }

    // The watchdog: whatever is still pending ends now.
    void abort() {
        if (done_) return;
        if (out_.error.empty() && !opened_) out_.error = "the session did not open in time";
        finish();
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

  private:
    void connect() {
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
        beast::get_lowest_layer(ws_).async_connect(
            server_, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
    }

    void on_connect(beast::error_code ec) {
        if (done_) return;
        if (ec) return fail(fmt::format("cannot connect: {}", ec.message()));
        beast::get_lowest_layer(ws_).expires_never();
        beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
        websocket::stream_base::timeout t{};
        t.handshake_timeout = std::chrono::seconds(10);  // opening and closing handshakes
        t.idle_timeout = websocket::stream_base::none();
        t.keep_alive_pings = false;
        ws_.set_option(t);
        ws_.read_message_max(64 << 20);
        ws_.async_handshake(
            response_, "127.0.0.1", session_.target,
            [self = shared_from_this()](beast::error_code e) { self->on_handshake(e); });
    }

    void on_handshake(beast::error_code ec) {
        if (done_) return;
        if (ec) {
            const auto status = response_.result_int();
            return fail(status != 0 && status != 101
                            ? fmt::format("the upgrade was refused: HTTP {}", status)
                            : fmt::format("the upgrade failed: {}", ec.message()));
        }
        opened_ = true;
        do_read();
        next_send();
        close_timer_.expires_at(clocks_.at(session_.end_us + linger_us_));
        close_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
            if (!e) self->on_close_due();
        });
    }

    void do_read() {
        ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            if (!closing_ && !done_) {
                // The server ended the session first.
                out_.server_closed_us = clocks_.now_recorded();
                if (ec == websocket::error::closed) {
                    out_.server_close_code = static_cast<int>(ws_.reason().code);
                    out_.server_close_reason = std::string(ws_.reason().reason.c_str());
                } else {
                    out_.server_close_code = 1006;  // dropped without a close frame
                    out_.server_close_reason = ec.message();
                }
            }
            return finish();
        }
        out_.frames.push_back({clocks_.now_recorded(), beast::buffers_to_string(buffer_.data())});
        buffer_.consume(buffer_.size());
        do_read();
    }

    void next_send() {
        if (closing_ || done_ || next_ >= session_.sent.size()) return;
        timer_.expires_at(clocks_.at(session_.sent[next_].wall_us));
        timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (ec || self->closing_ || self->done_) return;
            self->writing_ = true;
            self->ws_.text(true);
            self->ws_.async_write(asio::buffer(self->session_.sent[self->next_].text),
                                  [self](beast::error_code e, std::size_t) { self->on_write(e); });
        });
    }

    void on_write(beast::error_code ec) {
        writing_ = false;
        if (ec || done_) return;  // the read side reports how the session ended
        ++next_;
        if (closing_) return begin_close();
        next_send();
    }

    void on_close_due() {
        if (done_ || closing_) return;
        closing_ = true;
        timer_.cancel();
        if (!writing_) begin_close();  // else on_write closes
    }

    void begin_close() {
        ws_.async_close(websocket::close_code::normal,
                        [self = shared_from_this()](beast::error_code) {});
    }

    void fail(std::string why) {
        out_.error = std::move(why);
        finish();
    }

    void finish() {
        if (done_) return;
        done_ = true;
        timer_.cancel();
        close_timer_.cancel();
        if (--progress_.remaining == 0) progress_.watchdog->cancel();
    }

    tcp::endpoint server_;
    const RecordedSession& session_;
    const Clocks& clocks_;
    std::int64_t linger_us_;
    Observed& out_;
    Progress& progress_;
    websocket::stream<beast::tcp_stream> ws_;
    websocket::response_type response_;
    beast::flat_buffer buffer_;
    asio::steady_timer timer_, close_timer_;
    std::size_t next_ = 0;
    bool opened_ = false, writing_ = false, closing_ = false, done_ = false;
};

}  // namespace

std::vector<Observed> drive_sessions(std::uint16_t port,
                                     const std::vector<RecordedSession>& sessions,
                                     std::int64_t shift_us, std::int64_t linger_us) {
    std::vector<Observed> out(sessions.size());
    if (sessions.empty()) return out;
    asio::io_context ioc{1};
    Clocks clocks;
    clocks.shift_us = shift_us;
    std::int64_t last_end = 0;
    for (const auto& s : sessions) last_end = std::max(last_end, s.end_us);
    // However a session misbehaves, the drive ends: 15 s after the last recorded end.
    asio::steady_timer watchdog(ioc, clocks.at(last_end + linger_us) + std::chrono::seconds(15));
    Progress progress{sessions.size(), &watchdog};
    const tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    std::vector<std::shared_ptr<Player>> players;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        players.push_back(std::make_shared<Player>(ioc, server, sessions[i], clocks, linger_us,
                                                   out[i], progress));
        players.back()->start();
    }
    watchdog.async_wait([&](beast::error_code ec) {
        if (ec) return;
        for (auto& p : players) p->abort();
    });
    ioc.run();  // until every session has finished and its last handler has run
    return out;
}

}  // namespace streambed::recorder
