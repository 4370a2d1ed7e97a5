// bench_command.cpp: starts (or targets) a server, runs the load clients, prints the figures:
// delivered messages per second, lateness percentiles, server CPU per million deliveries,
// server memory per connection, and the load client's own CPU.
#include "app/bench_command.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "app/options_parse.hpp"
#include "app/server_runner.hpp"
#include "bench/load_client.hpp"
#include "bench/loopback_floor.hpp"
#include "bench/server_process.hpp"
#include "fleet/tls.hpp"

namespace streambed::app {
namespace {

struct BenchArgs {
    bench::LoadOptions load;
    std::string duration = "10s";
    std::string target;
    std::string ca;
    bool insecure = false;
    std::string time_scale = "1";
    std::string rate;
    std::string record;
    unsigned server_threads = 0;
    std::string coalesce_window;  // empty: the server's default
    std::uint64_t seed = 42;
    bool json = false;
    bool floor = false;
    int target_pid = 0;
};

// The TLS and header options against the target: one line naming what is wrong, or empty.
std::string check_tls_options(const BenchArgs& a, bool endpoint_given) {
    std::string error;
    const auto target = a.target.empty() ? std::nullopt : parse_ws_target(a.target, error);
    if (!a.target.empty() && !target) return {};  // the target's own error comes first, below
    const bool tls = target && target->tls;
    if (!a.ca.empty() && !tls) return "--ca '" + a.ca + "' needs a wss:// --target";
    if (a.insecure && !tls) return "--insecure needs a wss:// --target";
    if (!a.ca.empty() && a.insecure)
        return "--ca '" + a.ca + "' and --insecure: trust a CA or verify nothing, not both";
    if (!a.ca.empty() && !fleet::make_tls_context({a.ca, true}, error)) return "--ca: " + error;
    if (a.load.origin.find_first_of("\r\n") != std::string::npos) {
        std::string shown;
        for (const char c : a.load.origin)
            shown += c == '\r' ? "\\r" : c == '\n' ? "\\n" : std::string(1, c);
        return "--origin '" + shown + "' holds a line break";
    }
    if (target && !target->path.empty() && endpoint_given && target->path != a.load.endpoint)
        return "--target '" + a.target + "' names the endpoint " + target->path + ", --endpoint " +
               a.load.endpoint;
    return {};
}

std::string self_path() {
    char buf[4096];
    const auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "streambed";
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
    auto a = std::make_shared<BenchArgs>();
    auto* cmd = app.add_subcommand("bench", "End-to-end fan-out load test on loopback");
    cmd->add_option("--clients", a->load.clients, "WebSocket clients")
        ->check(CLI::Range(std::size_t{1}, std::size_t{60000}))
        ->capture_default_str();
    cmd->add_option("--duration", a->duration, "measured window, after all clients connected")
        ->check(CLI::Validator(
            [](std::string& s) { return parse_duration(s) ? "" : "'" + s + "' is not a duration"; },
            "DURATION"))
        ->capture_default_str();
    cmd->add_option("--endpoint", a->load.endpoint, "endpoint path")->capture_default_str();
    cmd->add_option("--subscribe", a->load.subscribe,
                    "channels to subscribe on open (e.g. '*'); none: idle clients");
    cmd->add_flag("--batch", a->load.batch, "connect with ?batch=1");
    cmd->add_flag("--deflate", a->load.deflate,
                  "offer permessage-deflate (the server gets --deflate too)");
    cmd->add_option(
        "--target", a->target,
        "ws://HOST:PORT or wss://HOST:PORT (TLS) of a running server instead of starting one; "
        "a path (/ws/NAME) sets the endpoint");
    cmd->add_option("--token", a->load.token,
                    "with --target: the server's --auth-token, sent as ?token=");
    cmd->add_option("--origin", a->load.origin,
                    "with --target: the Origin header (a server's --allow-origin)");
    cmd->add_option(
        "--ca", a->ca,
        "with a wss:// target: PEM certificates trusted beside the system's (a self-signed "
        "server's certificate)");
    cmd->add_flag("--insecure", a->insecure,
                  "with a wss:// target: do not verify the server's certificate (self-signed test "
                  "servers only)");
    cmd->add_option("--target-pid", a->target_pid,
                    "with --target: the server's process, sampled for CPU and memory");
    cmd->add_option("--time-scale", a->time_scale,
                    "of the started server: simulated ms per wall ms")
        ->capture_default_str();
    cmd->add_option(
           "--rate", a->rate,
           "the started server floods /ws/metrics with RATE messages per second, or 'max': "
           "as fast as it delivers them (saturation); default: the simulator at --time-scale")
        ->check(time_scale_validator("rate"));
    cmd->add_option("--record", a->record, "the started server records every frame to FILE.db");
    cmd->add_option("--server-threads", a->server_threads,
                    "I/O threads of the started server (0: cores)");
    cmd->add_option("--coalesce-window", a->coalesce_window,
                    std::string("of the started server: ") + kCoalesceWindowHelp)
        ->check(coalesce_window_validator());
    cmd->add_option("--seed", a->seed, "seed of the started server")->capture_default_str();
    cmd->add_option("--client-threads", a->load.threads, "load client threads")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
    cmd->add_flag(
        "--floor", a->floor,
        "then the same fan-out on bare TCP sockets (no WebSocket, no JSON): the machine's own "
        "lateness, to read the server's against");
    cmd->add_flag("--json", a->json, "print one JSON object");

    return [a, cmd] {
        a->load.duration = *parse_duration(a->duration);
        rlimit rl{};  // every client is a descriptor: lift the soft limit to the hard one
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (a->target.empty() && a->target_pid != 0) {
            fmt::print(stderr, "streambed bench: --target-pid {} needs --target\n", a->target_pid);
            return 2;
        }
        if (const auto bad = check_tls_options(*a, cmd->count("--endpoint") > 0); !bad.empty()) {
            fmt::print(stderr, "streambed bench: {}\n", bad);
            return 2;
        }
        std::unique_ptr<bench::ServerProcess> server;
        if (!a->target.empty()) {
            std::string error;
            auto target = parse_ws_target(a->target, error);
            if (!target) {
                fmt::print(stderr, "streambed bench: --target '{}' {}\n", a->target, error);
                return 2;
            }
            if (!target->path.empty()) a->load.endpoint = target->path;
            // Host names resolve (the first address is used): the load client connects by address.
            boost::asio::io_context ioc;
            boost::asio::ip::tcp::resolver resolver(ioc);
            boost::system::error_code ec;
            auto found = resolver.resolve(target->host, std::to_string(target->port), ec);
            if (ec || found.empty()) {
                fmt::print(stderr, "streambed bench: --target '{}': cannot resolve '{}': {}\n",
                           a->target, target->host, ec ? ec.message() : "no address");
                return 2;
            }
            // With TLS the name itself is kept: it is what the certificate must name (and the SNI).
            a->load.host =
                target->tls ? target->host : found.begin()->endpoint().address().to_string();
            a->load.port = target->port;
            a->load.tls = target->tls;
            a->load.tls_settings = {a->ca, !a->insecure};
            if (a->target_pid != 0 && (a->target_pid < 0 || ::kill(a->target_pid, 0) != 0)) {
                fmt::print(stderr, "streambed bench: --target-pid {}: no such process\n",
                           a->target_pid);
                return 2;
            }
        } else {
            std::vector<std::string> args = {"--time-scale",
                                             a->time_scale,
                                             "--seed",
                                             std::to_string(a->seed),
                                             "--threads",
                                             std::to_string(a->server_threads),
                                             "--max-connections",
                                             "0"};
            if (a->load.deflate) args.push_back("--deflate");
            if (!a->coalesce_window.empty())
                args.insert(args.end(), {"--coalesce-window", a->coalesce_window});
            if (!a->rate.empty()) args.insert(args.end(), {"--flood", a->rate});
            if (!a->record.empty()) args.insert(args.end(), {"--record", a->record});
            try {
                server = std::make_unique<bench::ServerProcess>(self_path(), args);
            } catch (const std::exception& e) {
                fmt::print(stderr, "streambed bench: {}\n", e.what());
                return 1;
            }
            a->load.port = server->port();
        }
        const pid_t pid = server ? server->pid() : static_cast<pid_t>(a->target_pid);
        std::uint64_t rss_before = pid ? bench::resident_bytes(pid) : 0, rss_connected = 0,
                      rss_end = 0;
        double cpu_start = 0, cpu_end = 0;
        auto result = bench::run_load(a->load, [&](bench::Phase phase) {
            if (!pid) return;
            if (phase == bench::Phase::connected) {
                rss_connected = bench::resident_bytes(pid);
                cpu_start = bench::cpu_seconds(pid);
            } else {
                rss_end = bench::resident_bytes(pid);
                cpu_end = bench::cpu_seconds(pid);
            }
        });
        const double rate =
            result.window_s > 0 ? static_cast<double>(result.messages) / result.window_s : 0;
        const double n = static_cast<double>(std::max<std::size_t>(1, result.connected));
        nlohmann::ordered_json j = {
            {"endpoint", a->load.endpoint},
            {"rate", a->rate.empty() ? nlohmann::ordered_json("simulator")
                                     : nlohmann::ordered_json(a->rate)},
            {"clients", a->load.clients},
            {"connected", result.connected},
            {"failed", result.failed},
            {"windowSeconds", result.window_s},
            {"messages", result.messages},
            {"frames", result.frames},
            {"deliveredPerSecond", rate},
            {"gaps", result.gaps},
            {"conflated", result.conflated},
            {"duplicates", result.duplicates},
            {"deliveryRatio", result.delivery_ratio},
            {"closedEarly", result.closed_early},
            {"dropped", result.dropped},
            {"latenessMs",
             {{"p50", bench::ms(result.lateness_us.percentile(50))},
              {"p99", bench::ms(result.lateness_us.percentile(99))},
              {"p999", bench::ms(result.lateness_us.percentile(99.9))},
              {"max", bench::ms(result.lateness_us.max())}}},
            {"clientCpuSeconds", result.client_cpu_s},
        };
        if (pid) {
            const double cpu = cpu_end - cpu_start;
            j["serverCpuSeconds"] = cpu;
            j["serverCpuSecondsPerMillion"] =
                result.messages ? cpu / (static_cast<double>(result.messages) / 1e6) : 0.0;
            j["serverRssBytes"] = {
                {"beforeClients", rss_before}, {"connected", rss_connected}, {"end", rss_end}};
            j["serverBytesPerConnection"] = {
                {"connected",
                 (static_cast<double>(rss_connected) - static_cast<double>(rss_before)) / n},
                {"end", (static_cast<double>(rss_end) - static_cast<double>(rss_before)) / n}};
        }
        std::optional<bench::FloorResult> floor;
        if (a->floor && result.connected > 0 && result.frames > 0) {
            // As many rounds as each client got frames (messages, or ?batch=1 arrays), of their
            // average size, at the interval it got them, with the server's and the client's
            // thread counts.
            bench::FloorOptions f;
            const double per_client = static_cast<double>(result.frames) / n;
            f.connections = result.connected;
            f.message_bytes = static_cast<std::size_t>(result.bytes / result.frames);
            f.rounds = std::clamp<std::size_t>(static_cast<std::size_t>(per_client), 3, 30);
            f.interval = std::chrono::microseconds(
                static_cast<std::int64_t>(result.window_s / per_client * 1e6));
            f.senders = a->server_threads ? a->server_threads
                                          : std::max(1u, std::thread::hardware_concurrency());
            f.readers = a->load.threads;
            try {
                floor = bench::measure_floor(f);
            } catch (const std::exception& e) {
                fmt::print(stderr, "streambed bench: {}\n", e.what());
            }
            if (floor) {
                j["floor"] = {{"connections", floor->connections},
                              {"messageBytes", f.message_bytes},
                              {"intervalMs", static_cast<double>(f.interval.count()) / 1000.0},
                              {"rounds", f.rounds},
                              {"messages", floor->messages},
                              {"latenessMs",
                               {{"p50", bench::ms(floor->lateness_us.percentile(50))},
                                {"p99", bench::ms(floor->lateness_us.percentile(99))},
                                {"max", bench::ms(floor->lateness_us.max())}}}};
            }
        }
        if (a->json) {
            fmt::print("{}\n", j.dump(2));
        } else {
            fmt::print("clients            {} connected, {} failed ({})\n", result.connected,
                       result.failed, a->load.endpoint);
            fmt::print("window             {:.1f} s\n", result.window_s);
            fmt::print(
                "delivered          {} messages, {:.0f}/s, {} frames; gaps {}, conflated {}, "
                "duplicates {}; "
                "closed early {}\n",
                result.messages, rate, result.frames, result.gaps, result.conflated,
                result.duplicates, result.closed_early);
            fmt::print("lateness ms        p50 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}\n",
                       j["latenessMs"]["p50"].get<double>(), j["latenessMs"]["p99"].get<double>(),
                       j["latenessMs"]["p999"].get<double>(), j["latenessMs"]["max"].get<double>());
            if (pid) {
                fmt::print(
                    "server CPU         {:.2f} s in the window, {:.2f} s per million deliveries\n",
                    j["serverCpuSeconds"].get<double>(),
                    j["serverCpuSecondsPerMillion"].get<double>());
                fmt::print(
                    "server memory      {:.0f} B/connection connected, {:.0f} B/connection at the "
                    "end\n",
                    j["serverBytesPerConnection"]["connected"].get<double>(),
                    j["serverBytesPerConnection"]["end"].get<double>());
            }
            fmt::print("load client CPU    {:.2f} s in the window\n", result.client_cpu_s);
            if (floor) {
                const auto& f = j["floor"];
                fmt::print(
                    "loopback floor ms  p50 {:.3f}  p99 {:.3f}  max {:.3f}  ({} bare TCP sockets, "
                    "{} B every "
                    "{:.0f} ms, {} rounds, {}/{} received)\n",
                    f["latenessMs"]["p50"].get<double>(), f["latenessMs"]["p99"].get<double>(),
                    f["latenessMs"]["max"].get<double>(), floor->connections,
                    f["messageBytes"].get<std::size_t>(), f["intervalMs"].get<double>(),
                    f["rounds"].get<std::size_t>(), floor->messages,
                    floor->connections * f["rounds"].get<std::size_t>());
            }
        }
        // Why connections failed or were dropped, one line each; a run where none connected,
        // any failed, or the server dropped every client is a failure.
        for (const auto& [reason, count] : result.reasons)
            fmt::print(stderr, "streambed bench: {} connection(s) {}\n", count, reason);
        if (result.connected == 0)
            fmt::print(stderr, "streambed bench: no client connected\n");
        else if (result.dropped >= result.connected)
            fmt::print(stderr, "streambed bench: the server dropped every client\n");
        const bool ok =
            result.failed == 0 && result.connected > 0 && result.dropped < result.connected;
        return ok ? 0 : 1;
    };
}

}  // namespace streambed::app
