// load_client.cpp: asynchronous WebSocket clients, each thread's share on its own io_context.
#include "bench/load_client.hpp"

#include "fleet/frame_reader.hpp"
#include "fleet/frame_writer.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <barrier>
#include <thread>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <charconv>
#include <fmt/format.h>
#include <random>
#include <memory>
#include <nlohmann/json.hpp>

namespace streambed::bench {
namespace {

namespace asio = boost::asio;
using fleet::FrameKind;
using fleet::FrameReader;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Reads the integer after `key` at or after `from`; npos when absent.
std::size_t find_int(std::string_view s, std::string_view key, std::size_t from, std::int64_t& out) {
    auto pos = s.find(key, from);
    if (pos == std::string_view::npos) return pos;
    pos += key.size();
    auto [p, ec] = std::from_chars(s.data() + pos, s.data() + s.size(), out);
    if (ec != std::errc()) return std::string_view::npos;
    return static_cast<std::size_t>(p - s.data());
}

struct Shared {
    asio::io_context ioc{1};
    tcp::endpoint server;
    const LoadOptions* opt = nullptr;
    bool measuring = false;
    std::size_t connected = 0, failed = 0, pending = 0;
    std::size_t next_to_start = 0;
    LoadResult result;
    std::function<void()> start_next;
};

// One connection: a raw socket, the upgrade written and read by hand, then frames parsed by
// FrameReader (see frame_reader.hpp for why not Beast's websocket::stream).
class Client : public std::enable_shared_from_this<Client> {
public:
    explicit Client(Shared& s) : s_(s), sock_(s.ioc), deadline_(s.ioc) {}

    void start() {
        // Connect and upgrade within 30 s, or count as failed.
        deadline_.expires_after(std::chrono::seconds(30));
        deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
            if (!ec && !self->welcomed_) self->fail("no welcome within 30 s");
        });
        sock_.async_connect(s_.server, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
    }

    // Ends the connection: a close frame, then the socket once the server's close arrives.
    void close() {
        if (done_) return;
        done_ = true;
        send_frame(0x8, "\x03\xe8");  // 1000, normal closure
    }

private:
    void on_connect(beast::error_code ec) {
        if (ec) return fail("connect: " + ec.message());
        sock_.set_option(tcp::no_delay(true), ec);
        std::string target = s_.opt->endpoint + (s_.opt->batch ? "?batch=1" : "");
        const bool v6 = s_.opt->host.find(':') != std::string::npos;  // an IPv6 literal
        outbox_ = fmt::format(
            "GET {} HTTP/1.1\r\nHost: {}{}{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n{}\r\n",
            target, v6 ? "[" : "", s_.opt->host, v6 ? "]" : "", kKey,
            s_.opt->deflate ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
        flush_outbox();
        do_read();
    }

    void do_read() {
        const auto room = reader_.prepare();
        sock_.async_read_some(asio::buffer(room.data(), room.size()),
                              [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->on_read(ec, n); });
    }

    void on_read(beast::error_code ec, std::size_t n) {
        if (ec) return ended("connection lost: " + ec.message());
        const auto received = now_us();
        reader_.commit(n);
        if (!upgraded_ && !read_upgrade()) return;
        while (upgraded_) {
            const auto r = reader_.next();
            if (r.status == FrameReader::Status::need_more) break;
            if (r.status == FrameReader::Status::error) return fail("a malformed frame");  // drop the connection
            switch (r.frame.kind) {
                case FrameKind::text:
                case FrameKind::binary:
                    if (!welcomed_) {
                        if (!on_welcome(r.frame.payload)) return fail("the first message is not a welcome");
                    } else {
                        on_frame(r.frame.payload, received);
                    }
                    break;
                case FrameKind::ping: send_frame(0xA, r.frame.payload); break;
                case FrameKind::pong: break;
                case FrameKind::close:
                    if (!done_) send_frame(0x8, r.frame.payload.substr(0, 2));  // echo the code
                    return ended(close_text(r.frame.payload));
            }
        }
        do_read();
    }

    // The HTTP response ahead of the frames; false when the connection failed or more is needed
    // (then the read was re-armed).
    bool read_upgrade() {
        const auto head = reader_.unparsed();
        const auto end = head.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            if (head.size() > 16 * 1024) return fail("upgrade: the response is too large"), false;
            do_read();
            return false;
        }
        const auto response = head.substr(0, end);
        if (!response.starts_with("HTTP/1.1 101") || response.find(kAccept) == std::string_view::npos)
            return fail("upgrade refused: " + std::string(response.substr(0, response.find("\r\n")))), false;
        if (response.find("permessage-deflate") != std::string_view::npos) reader_.enable_inflate();
        reader_.consume(end + 4);
        upgraded_ = true;
        if (!s_.opt->subscribe.empty())
            send_frame(0x1, nlohmann::json{{"action", "subscribe"}, {"channels", s_.opt->subscribe}}.dump());
        return true;
    }

    bool on_welcome(std::string_view text) {
        auto w = nlohmann::json::parse(text, nullptr, false);
        if (!w.is_object() || w.value("type", "") != "welcome" || !w.contains("clock")) return false;
        welcomed_ = true;
        deadline_.cancel();
        clock_time_ = w["clock"].value("time", std::int64_t{0});
        clock_wall_ = w["clock"].value("wall", std::int64_t{0});
        scale_ = w["clock"].value("scale", 0.0);
        ++s_.connected;
        --s_.pending;
        s_.start_next();
        return true;
    }

    void on_frame(std::string_view text, std::int64_t received) {
        if (s_.measuring) {
            ++s_.result.frames;
            s_.result.bytes += text.size();
        }
        // Data envelopes: {"type":T,"channel":C,"seq":N,"time":T,...}; batches are arrays of them.
        std::size_t pos = 0;
        while (true) {
            const auto ch = text.find(R"("channel":")", pos);
            if (ch == std::string_view::npos) return;
            const auto ch_end = text.find('"', ch + 11);
            std::int64_t seq = 0, time = 0;
            pos = find_int(text, R"("seq":)", ch_end, seq);
            if (pos == std::string_view::npos) return;
            pos = find_int(text, R"("time":)", pos, time);
            if (pos == std::string_view::npos) return;
            on_message(text.substr(ch + 11, ch_end - ch - 11), static_cast<std::uint64_t>(seq), time, received);
        }
    }

    void on_message(std::string_view channel, std::uint64_t seq, std::int64_t time, std::int64_t received) {
        std::uint64_t* last = nullptr;
        for (auto& [c, l] : last_seq_)
            if (c == channel) last = &l;
        if (!last) {
            last_seq_.emplace_back(std::string(channel), seq - 1);
            last = &last_seq_.back().second;
        }
        if (s_.measuring) {
            ++s_.result.messages;
            if (seq > *last + 1) s_.result.gaps += seq - *last - 1;
            if (scale_ > 0) {
                const double due = static_cast<double>(clock_wall_) +
                                   static_cast<double>(time - clock_time_) * 1000.0 / scale_;
                s_.result.lateness.samples_us.push_back(received - static_cast<std::int64_t>(due));
            }
        }
        *last = std::max(*last, seq);
    }

    // A client frame: masked (RFC 6455 §5.3), queued behind any write under way.
    void send_frame(std::uint8_t opcode, std::string_view payload) {
        fleet::append_client_frame(outbox_, opcode, payload, static_cast<std::uint32_t>(mask_rng_()));
        flush_outbox();
    }

    void flush_outbox() {
        if (writing_ || outbox_.empty()) return;
        writing_ = true;
        in_flight_.swap(outbox_);
        outbox_.clear();
        asio::async_write(sock_, asio::buffer(in_flight_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->writing_ = false;
            if (ec) return self->ended("write: " + ec.message());
            self->flush_outbox();
        });
    }

    // A close frame's code and reason, as a reason for the summary.
    static std::string close_text(std::string_view payload) {
        if (payload.size() < 2) return "closed by the server (no code)";
        const int code = (static_cast<std::uint8_t>(payload[0]) << 8) | static_cast<std::uint8_t>(payload[1]);
        return fmt::format("closed by the server: {}{}{}", code, payload.size() > 2 ? " " : "", payload.substr(2));
    }

    // The server closed, or the socket or the stream failed (counted when inside the window).
    void ended(const std::string& reason) {
        if (!welcomed_) return fail(reason);
        if (!done_) {
            if (s_.measuring) ++s_.result.closed_early;
            ++s_.result.dropped;
            ++s_.result.reasons["dropped: " + reason];
        }
        done_ = true;
        beast::error_code ignored;
        sock_.close(ignored);
    }

    // Before the welcome: a connection that failed, and room for the next one to start.
    void fail(const std::string& reason) {
        if (welcomed_) return ended(reason);
        if (!counted_failed_) ++s_.result.reasons["failed: " + reason];
        done_ = true;
        beast::error_code ignored;
        sock_.close(ignored);
        deadline_.cancel();
        if (counted_failed_) return;
        counted_failed_ = true;
        ++s_.failed;
        --s_.pending;
        s_.start_next();
    }

    // RFC 6455 §1.3's sample key and its accept value: any key will do for a load client.
    static constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
    static constexpr std::string_view kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

    Shared& s_;
    tcp::socket sock_;
    asio::steady_timer deadline_;
    FrameReader reader_{std::size_t{64} << 20};
    std::string outbox_, in_flight_;
    std::minstd_rand mask_rng_{std::random_device{}()};
    bool upgraded_ = false, welcomed_ = false, done_ = false, writing_ = false, counted_failed_ = false;
    std::int64_t clock_time_ = 0, clock_wall_ = 0;
    double scale_ = 1;
    std::vector<std::pair<std::string, std::uint64_t>> last_seq_;
};

}  // namespace

double Lateness::percentile_ms(double p) {
    if (samples_us.empty()) return 0;
    auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(samples_us.size() - 1));
    std::nth_element(samples_us.begin(), samples_us.begin() + static_cast<std::ptrdiff_t>(k), samples_us.end());
    return static_cast<double>(samples_us[k]) / 1000.0;
}

namespace {

// One thread's share of the clients, on its own io_context.
void run_worker(Shared& s, std::size_t count, std::barrier<std::function<void()>>& sync) {
    std::vector<std::shared_ptr<Client>> clients;
    clients.reserve(count);
    const std::size_t concurrency = std::max<std::size_t>(1, s.opt->connect_concurrency);
    s.start_next = [&] {
        while (s.next_to_start < count && s.pending < concurrency) {
            ++s.pending;
            ++s.next_to_start;
            clients.push_back(std::make_shared<Client>(s));
            clients.back()->start();
        }
    };
    s.start_next();
    while (s.connected + s.failed < count) s.ioc.run_one();
    s.result.connected = s.connected;
    s.result.failed = s.failed;
    sync.arrive_and_wait();  // everyone connected: the caller samples the server

    const double cpu0 = cpu_seconds();
    s.measuring = true;
    asio::steady_timer window(s.ioc);
    const auto t0 = std::chrono::steady_clock::now();
    bool over = false;
    window.expires_after(s.opt->duration);
    window.async_wait([&](beast::error_code) { over = true; });
    while (!over) s.ioc.run_one();
    s.measuring = false;
    s.result.window_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.result.client_cpu_s = cpu_seconds() - cpu0;  // the whole process: every worker's share
    sync.arrive_and_wait();  // the window is over: the caller samples again

    for (auto& c : clients) c->close();
    s.ioc.run_for(std::chrono::seconds(2));
}

}  // namespace

LoadResult run_load(const LoadOptions& options, const std::function<void(Phase)>& on_phase) {
    const std::size_t threads = std::clamp<std::size_t>(options.threads, 1, options.clients);
    std::vector<std::unique_ptr<Shared>> shared;
    for (std::size_t i = 0; i < threads; ++i) {
        shared.push_back(std::make_unique<Shared>());
        shared.back()->opt = &options;
        shared.back()->server = tcp::endpoint(asio::ip::make_address(options.host), options.port);
    }
    int phase = 0;
    std::barrier<std::function<void()>> sync(static_cast<std::ptrdiff_t>(threads), [&]() noexcept {
        on_phase(phase++ == 0 ? Phase::connected : Phase::measured);
    });
    std::vector<std::thread> workers;
    for (std::size_t i = 0; i < threads; ++i) {
        const std::size_t count = options.clients / threads + (i < options.clients % threads ? 1 : 0);
        workers.emplace_back([&, i, count] { run_worker(*shared[i], count, sync); });
    }
    for (auto& w : workers) w.join();

    LoadResult out;
    for (auto& s : shared) {
        auto& r = s->result;
        out.connected += r.connected;
        out.failed += r.failed;
        out.messages += r.messages;
        out.frames += r.frames;
        out.bytes += r.bytes;
        out.gaps += r.gaps;
        out.closed_early += r.closed_early;
        out.dropped += r.dropped;
        for (auto& [reason, n] : r.reasons) out.reasons[reason] += n;
        out.window_s = std::max(out.window_s, r.window_s);
        out.client_cpu_s = std::max(out.client_cpu_s, r.client_cpu_s);
        out.lateness.samples_us.insert(out.lateness.samples_us.end(), r.lateness.samples_us.begin(),
                                       r.lateness.samples_us.end());
    }
    return out;
}

}  // namespace streambed::bench
