// server_setup.cpp: serve arguments, impairments for the proxy, final seqs over HTTP, and the
// recording check.
#include "runner/server_setup.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <chrono>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>

#include "recorder/reader.hpp"

namespace streambed::runner {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

ServerArguments server_arguments(const Scenario& s, std::uint64_t seed, std::int64_t clock_start_ms,
                                 const std::string& record, std::string& config_file) {
    char path[] = "/tmp/streambed-scenario-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0)
        throw std::runtime_error("cannot create a temporary file for the simulator configuration");
    close(fd);
    config_file = path;
    std::ofstream(config_file) << s.simulator_json;
    const auto& o = s.server;
    ServerArguments a;
    a.args = {"--seed",
              std::to_string(seed),
              "--config",
              config_file,
              "--time-scale",
              fmt::format("{}", s.time_scale),
              "--stop-after",
              fmt::format("{}ms", s.duration.count()),
              "--history",
              std::to_string(o.history),
              "--outbound-limit",
              std::to_string(o.outbound_limit),
              "--inbound-limit",
              std::to_string(o.inbound_limit),
              "--max-connections",
              std::to_string(o.max_connections),
              "--heartbeat",
              fmt::format("{}ms", o.heartbeat.count())};
    // The clock start pins the world to the run's start, so a restart continues it.
    a.args.insert(a.args.end(), {"--clock-start", std::to_string(clock_start_ms)});
    if (o.threads > 0) a.args.insert(a.args.end(), {"--threads", std::to_string(o.threads)});
    if (o.deflate) a.args.push_back("--deflate");
    if (o.send_buffer > 0)
        a.args.insert(a.args.end(), {"--send-buffer", std::to_string(o.send_buffer)});
    if (!record.empty()) a.args.insert(a.args.end(), {"--record", record});
    return a;
}

proxy::Impairment to_proxy_impairment(const Event& e) {
    const auto& i = e.impairment;
    proxy::Impairment p;
    p.name = e.name;
    p.direction = i.direction == Impairment::Direction::upstream     ? proxy::Direction::upstream
                  : i.direction == Impairment::Direction::downstream ? proxy::Direction::downstream
                                                                     : proxy::Direction::both;
    p.latency = i.latency;
    p.jitter = i.jitter;
    p.bandwidth = i.bandwidth;
    p.stall = i.stall;
    p.reset = i.reset;
    p.slice = i.slice;
    p.slice_delay = i.slice_delay;
    p.limit_data = i.limit_data;
    p.drop_after_frames = i.drop_after_frames;
    p.hold_stream = i.hold_stream;
    return p;
}

namespace {

// One GET over a fresh connection; the body, or throws.
std::string http_get_body(const TargetAddress& server, const std::string& target) {
    asio::io_context ioc;
    tcp::resolver resolver(ioc);
    tcp::socket sock(ioc);
    asio::connect(sock, resolver.resolve(server.host, std::to_string(server.port)));
    const std::string req = fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                                        target, server.host);
    asio::write(sock, asio::buffer(req));
    std::string response;
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(response, 64 << 20), ec);
    if (ec && ec != asio::error::eof)
        throw std::runtime_error("reading " + target + ": " + ec.message());
    const auto body = response.find("\r\n\r\n");
    if (!response.starts_with("HTTP/1.1 200") || body == std::string::npos)
        throw std::runtime_error(target + " answered: " + response.substr(0, response.find('\r')));
    return response.substr(body + 4);
}

fleet::FinalSeqs read_finals(const TargetAddress& server, const std::set<std::string>& endpoints) {
    fleet::FinalSeqs out;
    for (const auto& ep : endpoints) {
        const auto body =
            json::parse(http_get_body(server, "/api/v11/poll/" + ep.substr(4)), nullptr, false);
        if (!body.is_object() || !body.contains("next") || !body["next"].is_object())
            throw std::runtime_error("the poll of " + ep + " has no 'next'");
        for (const auto& [channel, seq] : body["next"].items())
            if (seq.is_number_unsigned()) out[{ep, channel}] = seq.get<std::uint64_t>();
    }
    return out;
}

}  // namespace

fleet::FinalSeqs final_seqs(const TargetAddress& server, const Scenario& s) {
    std::set<std::string> endpoints;
    for (const auto& g : s.groups) endpoints.insert(g.endpoint);
    auto last = read_finals(server, endpoints);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing the reads, not a sync
        auto now = read_finals(server, endpoints);
        if (now == last) return now;
        last = std::move(now);
    }
    return last;
}

bool recording_complete(const std::string& path, const fleet::FleetResult& result) {
    try {
        const auto summary = recorder::inspect(path);
        std::int64_t out_frames = 0;
        for (const auto& r : summary["runs"]) {
            if (!r.value("complete", false) || r.value("droppedFrames", std::int64_t{1}) != 0)
                return false;
            out_frames += r["frames"].value("out", std::int64_t{0});
        }
        std::uint64_t received = 0;
        for (const auto& g : result.groups) received += g.messages - g.polled;
        return static_cast<std::uint64_t>(out_frames) >= received;
    } catch (const std::exception&) {
        return false;
    }
}

std::optional<TargetAddress> parse_target(const std::string& url) {
    constexpr std::string_view scheme = "ws://";
    if (!url.starts_with(scheme)) return std::nullopt;
    std::string_view rest(url);
    rest.remove_prefix(scheme.size());
    if (const auto slash = rest.find('/'); slash != std::string_view::npos)
        rest = rest.substr(0, slash);
    std::string_view host, port;
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':')
            return std::nullopt;
        host = rest.substr(1, close - 1);
        port = rest.substr(close + 2);
    } else {
        const auto colon = rest.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
    }
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || ec != std::errc() || p != port.data() + port.size() || value == 0 ||
        value > 65535)
        return std::nullopt;
    return TargetAddress{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace streambed::runner
