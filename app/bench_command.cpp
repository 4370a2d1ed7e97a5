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
    std::vector<std::string> targets;  // --target, once per server (a cluster's nodes)
    std::string target;                // the first of them
    std::string ca;
    bool insecure = false;
    std::string time_scale = "1";
    std::string rate;
    std::string record;
    unsigned server_threads = 0;
    std::string coalesce_window;  // empty: the server's default
    bool no_io_uring = false;
    std::uint64_t seed = 42;
    bool json = false;
    bool floor = false;
    std::vector<int> target_pids;  // --target-pid, one per --target at most
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

// The --target values: the first is where the clients start; with several (a cluster's nodes)
// they are spread round-robin over all, which must share a scheme and an endpoint. 0, or 2 after
// one line naming the bad value.
int resolve_targets(BenchArgs& a) {
    for (const auto& text : a.targets) {
        const bool first = &text == &a.targets.front();
        std::string error;
        auto target = parse_ws_target(text, error);
        if (!target) {
            fmt::print(stderr, "streambed bench: --target '{}' {}\n", text, error);
            return 2;
        }
        if (first && !target->path.empty()) a.load.endpoint = target->path;
        if (!first && (target->tls != a.load.tls ||
                       (!target->path.empty() && target->path != a.load.endpoint))) {
            fmt::print(stderr,
                       "streambed bench: --target '{}': not the scheme and endpoint of '{}'\n",
                       text, a.targets.front());
            return 2;
        }
        // Host names resolve (the first address is used): the load client connects by address.
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::resolver resolver(ioc);
        boost::system::error_code ec;
        auto found = resolver.resolve(target->host, std::to_string(target->port), ec);
        if (ec || found.empty()) {
            fmt::print(stderr, "streambed bench: --target '{}': cannot resolve '{}': {}\n", text,
                       target->host, ec ? ec.message() : "no address");
            return 2;
        }
        // With TLS the name itself is kept: it is what the certificate must name (and the SNI).
        const fleet::Address node{
            target->tls ? target->host : found.begin()->endpoint().address().to_string(),
            target->port, target->tls};
        if (first) {
            a.load.host = node.host;
            a.load.port = node.port;
            a.load.tls = node.tls;
        }
        a.load.nodes.push_back(node);
    }
    if (a.load.nodes.size() == 1) a.load.nodes.clear();  // one server: host and port say it
    a.load.tls_settings = {a.ca, !a.insecure};
    if (a.target_pids.size() > a.targets.size()) {
        fmt::print(stderr, "streambed bench: {} --target-pid for {} --target\n",
                   a.target_pids.size(), a.targets.size());
        return 2;
    }
    for (const int pid : a.target_pids) {
        if (pid <= 0 || ::kill(pid, 0) != 0) {
            fmt::print(stderr, "streambed bench: --target-pid {}: no such process\n", pid);
            return 2;
        }
    }
    return 0;
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
        "--target", a->targets,
        "ws://HOST:PORT or wss://HOST:PORT (TLS) of a running server instead of starting one; "
        "a path (/ws/NAME) sets the endpoint. Repeated (a cluster's nodes): the clients are "
        "spread round-robin over them");
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
    cmd->add_option("--target-pid", a->target_pids,
                    "with --target: the server's process, sampled for CPU and memory (repeated: "
                    "one per --target, in their order)");
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
    cmd->add_flag("--no-io-uring", a->no_io_uring,
                  "the started server writes each connection with its own sendmsg");
    cmd->add_option("--seed", a->seed, "seed of the started server")->capture_default_str();
    cmd->add_option("--client-threads", a->load.threads, "load client threads")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
    cmd->add_flag(
        "--floor", a->floor,
        "then the same fan-out from a bare writer of pre-framed messages, read by the same load "
        "client: what the machine and the instrument cost, to read the server's lateness against");
    cmd->add_flag("--json", a->json, "print one JSON object");

    return [a, cmd] {
        a->load.duration = *parse_duration(a->duration);
        rlimit rl{};  // every client is a descriptor: lift the soft limit to the hard one
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
            rl.rlim_cur = rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        a->target = a->targets.empty() ? std::string() : a->targets.front();
        if (a->target.empty() && !a->target_pids.empty()) {
            fmt::print(stderr, "streambed bench: --target-pid {} needs --target\n",
                       a->target_pids.front());
            return 2;
        }
        if (const auto bad = check_tls_options(*a, cmd->count("--endpoint") > 0); !bad.empty()) {
            fmt::print(stderr, "streambed bench: {}\n", bad);
            return 2;
        }
        std::unique_ptr<bench::ServerProcess> server;
        if (!a->target.empty()) {
            if (const int bad = resolve_targets(*a)) return bad;
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
            if (a->no_io_uring) args.push_back("--no-io-uring");
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
        std::vector<pid_t> pids(a->target_pids.begin(), a->target_pids.end());
        if (server) pids = {server->pid()};
        const auto before = bench::read_processes(pids);
        bench::ProcessReading connected, end;
        std::vector<bench::ProcessReading> each_connected, each_end;
        auto result = bench::run_load(a->load, [&](bench::Phase phase) {
            auto& each = phase == bench::Phase::connected ? each_connected : each_end;
            each = bench::read_processes(pids);
            (phase == bench::Phase::connected ? connected : end) = bench::sum(each);
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
        // CPU per delivery: each server's over the deliveries it made (the clients are spread
        // evenly), and all of them together over all.
        const auto per_million = [&](double cpu, std::size_t servers) {
            return result.messages ? cpu / (static_cast<double>(result.messages) /
                                            static_cast<double>(servers) / 1e6)
                                   : 0.0;
        };
        if (!pids.empty()) {
            const auto rss_before = bench::sum(before).rss;
            const double cpu = end.cpu - connected.cpu;
            j["serverCpuSeconds"] = cpu;
            j["serverCpuSecondsPerMillion"] = per_million(cpu, 1);
            j["serverRssBytes"] = {
                {"beforeClients", rss_before}, {"connected", connected.rss}, {"end", end.rss}};
            j["serverBytesPerConnection"] = {
                {"connected",
                 (static_cast<double>(connected.rss) - static_cast<double>(rss_before)) / n},
                {"end", (static_cast<double>(end.rss) - static_cast<double>(rss_before)) / n}};
        }
        for (std::size_t i = 0; pids.size() > 1 && i < pids.size(); ++i) {
            const double cpu = each_end[i].cpu - each_connected[i].cpu;
            j["servers"].push_back({{"pid", pids[i]},
                                    {"cpuSeconds", cpu},
                                    {"cpuSecondsPerMillion", per_million(cpu, pids.size())}});
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
            f.endpoint = a->load.endpoint;
            f.subscribe = a->load.subscribe;
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
            for (const auto& one : j.value("servers", nlohmann::ordered_json::array()))
                fmt::print(
                    "server {:<11} {:.2f} s in the window, {:.2f} s per million of its "
                    "deliveries\n",
                    one["pid"].get<int>(), one["cpuSeconds"].get<double>(),
                    one["cpuSecondsPerMillion"].get<double>());
            if (!pids.empty()) {
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
                    "loopback floor ms  p50 {:.3f}  p99 {:.3f}  max {:.3f}  ({} clients of a bare "
                    "writer, {} B every "
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
