// proxy_command.cpp: options of `proxy`, the impairment they describe, the proxying line, and the
// wait for SIGINT/SIGTERM. Bad values: one line naming the value, exit status 2.
#include "app/proxy_command.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

#include "engine/signals.hpp"
#include "proxy/control_api.hpp"
#include "proxy/impairment_proxy.hpp"

namespace streambed::app {
namespace {

struct ProxyArgs {
    std::string listen, upstream, control = "127.0.0.1:0";
    std::string seed = "42";
    std::string latency, jitter, bandwidth, direction = "both";
};

struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};

// "HOST:PORT", "[::1]:PORT"; the port 0..65535.
std::optional<HostPort> parse_host_port(const std::string& text) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
    std::string host = text.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty()) return std::nullopt;
    const std::string digits = text.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size() || value > 65535)
        return std::nullopt;
    return HostPort{host, static_cast<std::uint16_t>(value)};
}

class BadValue : public std::runtime_error {
    using std::runtime_error::runtime_error;
};

HostPort address(const std::string& option, const std::string& text) {
    if (text.empty()) throw BadValue(option + " HOST:PORT is required");
    auto hp = parse_host_port(text);
    if (!hp)
        throw BadValue(fmt::format("{} '{}' is not HOST:PORT (e.g. 127.0.0.1:9004)", option, text));
    return *hp;
}

// The impairment the command line describes, if any.
std::optional<proxy::Impairment> cli_impairment(const ProxyArgs& a) {
    proxy::Impairment i;
    i.name = "cli";
    auto d = proxy::parse_direction(a.direction);
    if (!d)
        throw BadValue(
            fmt::format("--direction '{}' is not upstream, downstream or both", a.direction));
    i.direction = *d;
    auto duration = [](const std::string& option, const std::string& text) {
        auto v = proxy::parse_duration_us(text);
        if (!v)
            throw BadValue(fmt::format("{} '{}' is not a duration (e.g. 100ms, 2s)", option, text));
        return *v;
    };
    if (!a.latency.empty()) i.latency = duration("--latency", a.latency);
    if (!a.jitter.empty()) i.jitter = duration("--jitter", a.jitter);
    if (!a.bandwidth.empty()) {
        auto b = proxy::parse_bandwidth(a.bandwidth);
        if (!b || *b <= 0)
            throw BadValue(
                fmt::format("--bandwidth '{}' is not a rate (e.g. 100KB/s)", a.bandwidth));
        i.bandwidth = *b;
    }
    if (a.latency.empty() && a.jitter.empty() && a.bandwidth.empty()) return std::nullopt;
    return i;
}

int run(const ProxyArgs& a) {
    const auto listen = address("--listen", a.listen);
    const auto upstream = address("--upstream", a.upstream);
    const auto control = address("--control", a.control);
    const auto impairment = cli_impairment(a);
    std::uint64_t seed = 0;
    auto [end, ec] = std::from_chars(a.seed.data(), a.seed.data() + a.seed.size(), seed);
    if (ec != std::errc() || end != a.seed.data() + a.seed.size() || a.seed.empty())
        throw BadValue(fmt::format("--seed '{}' is not a non-negative integer", a.seed));

    engine::SignalWatcher signals;  // before the line: a signal right after it is never fatal
    proxy::ProxyOptions o;
    o.listen_host = listen.host;
    o.listen_port = listen.port;
    o.upstream_host = upstream.host;
    o.upstream_port = upstream.port;
    o.seed = seed;
    proxy::ImpairmentProxy proxy(o);
    if (impairment) proxy.add(*impairment);
    proxy.start();
    proxy::ControlApi api(proxy, control.host, control.port);
    api.start();
    fmt::print("proxying {}:{} -> {}:{}, control on http://{}:{}\n", listen.host, proxy.port(),
               upstream.host, upstream.port, control.host, api.port());
    std::fflush(stdout);
    signals.wait();
    spdlog::info("proxy shutting down");
    api.stop();
    proxy.stop();
    return 0;
}

}  // namespace

std::function<int()> add_proxy_command(CLI::App& app) {
    auto args = std::make_shared<ProxyArgs>();
    auto* cmd = app.add_subcommand("proxy",
                                   "Run the network impairment proxy between clients and a server");
    cmd->add_option("--listen", args->listen,
                    "ADDR:PORT the clients connect to (port 0: a free one)");
    cmd->add_option("--upstream", args->upstream, "HOST:PORT of the server");
    cmd->add_option("--control", args->control, "ADDR:PORT of the HTTP control API")
        ->capture_default_str();
    cmd->add_option("--seed", args->seed, "seed of every random draw (jitter)")
        ->capture_default_str();
    cmd->add_option("--latency", args->latency, "delay of every unit, e.g. 100ms");
    cmd->add_option("--jitter", args->jitter, "uniform ± around the latency, e.g. 10ms");
    cmd->add_option("--bandwidth", args->bandwidth, "cap in bytes per second, e.g. 100KB/s");
    cmd->add_option("--direction", args->direction, "upstream, downstream or both")
        ->capture_default_str();
    return [args] {
        try {
            return run(*args);
        } catch (const std::exception& e) {
            fmt::print(stderr, "streambed proxy: {}\n", e.what());
            return 2;
        } catch (...) {
            fmt::print(stderr, "streambed proxy: unexpected error\n");
            return 2;
        }
    };
}

}  // namespace streambed::app
