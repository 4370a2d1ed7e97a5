// load_client.cpp: asynchronous Beast clients on one io_context thread.
#include "bench/load_client.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <barrier>
#include <thread>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>

namespace streambed::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
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

class Client : public std::enable_shared_from_this<Client> {
public:
    explicit Client(Shared& s) : s_(s), ws_(s.ioc) {}

    void start() {
        beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
        beast::get_lowest_layer(ws_).async_connect(
            s_.server, [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
    }

    void close() {
        if (done_) return;
        done_ = true;
        ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
    }

private:
    void on_connect(beast::error_code ec) {
        if (ec) return fail();
        beast::get_lowest_layer(ws_).expires_never();
        websocket::stream_base::timeout t = websocket::stream_base::timeout::suggested(beast::role_type::client);
        ws_.set_option(t);
        if (s_.opt->deflate) {
            websocket::permessage_deflate pmd;
            pmd.client_enable = true;
            ws_.set_option(pmd);
        }
        ws_.read_message_max(64 << 20);
        const std::string target = s_.opt->endpoint + (s_.opt->batch ? "?batch=1" : "");
        ws_.async_handshake(s_.opt->host, target,
                            [self = shared_from_this()](beast::error_code e) { self->on_handshake(e); });
    }

    void on_handshake(beast::error_code ec) {
        if (ec) return fail();
        if (!s_.opt->subscribe.empty()) {
            subscribe_ = nlohmann::json{{"action", "subscribe"}, {"channels", s_.opt->subscribe}}.dump();
            ws_.async_write(asio::buffer(subscribe_), [](beast::error_code, std::size_t) {});
        }
        do_read();
    }

    void do_read() {
        ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) {
            if (!done_ && s_.measuring) ++s_.result.closed_early;
            done_ = true;
            return;
        }
        const auto received = now_us();
        auto data = buf_.cdata();
        std::string_view text(static_cast<const char*>(data.data()), data.size());
        if (!welcomed_) on_welcome(text);
        else on_frame(text, received);
        buf_.consume(buf_.size());
        do_read();
    }

    void on_welcome(std::string_view text) {
        auto w = nlohmann::json::parse(text, nullptr, false);
        if (!w.is_object() || w.value("type", "") != "welcome") return fail();
        welcomed_ = true;
        clock_time_ = w["clock"]["time"];
        clock_wall_ = w["clock"]["wall"];
        scale_ = w["clock"]["scale"];
        ++s_.connected;
        --s_.pending;
        s_.start_next();
    }

    void on_frame(std::string_view text, std::int64_t received) {
        if (s_.measuring) ++s_.result.frames;
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

    void fail() {
        if (done_) return;
        done_ = true;
        if (!welcomed_) {
            ++s_.failed;
            --s_.pending;
            s_.start_next();
        }
    }

    Shared& s_;
    websocket::stream<beast::tcp_stream> ws_;
    beast::flat_buffer buf_;
    std::string subscribe_;
    bool welcomed_ = false, done_ = false;
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
        out.gaps += r.gaps;
        out.closed_early += r.closed_early;
        out.window_s = std::max(out.window_s, r.window_s);
        out.client_cpu_s = std::max(out.client_cpu_s, r.client_cpu_s);
        out.lateness.samples_us.insert(out.lateness.samples_us.end(), r.lateness.samples_us.begin(),
                                       r.lateness.samples_us.end());
    }
    return out;
}

}  // namespace streambed::bench
