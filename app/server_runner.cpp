// server_runner.cpp: shared server options and the serve/replay main loop.
#include "app/server_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "app/options_parse.hpp"
#include "engine/server.hpp"
#include "engine/signals.hpp"

namespace streambed::app {

CLI::Validator time_scale_validator(const std::string& what) {
    return CLI::Validator(
        [what](std::string& v) -> std::string {
            return parse_time_scale(v)
                       ? ""
                       : "'" + v + "' is not a " + what + ": use a positive number or 'max'";
        },
        "X|max");
}

namespace {

// A number option within [lo, hi], its default shown by --help.
template <class T>
void add_limit(CLI::App* cmd, const std::string& name, T& value, const std::string& help, T lo,
               T hi) {
    cmd->add_option(name, value, help)->check(CLI::Range(lo, hi))->capture_default_str();
}

// A duration option (500ms, 2s, 1m) from `min` to an hour; the message names the option.
void add_duration(CLI::App* cmd, const std::string& name, std::string& value,
                  const std::string& help, std::chrono::milliseconds min) {
    cmd->add_option(name, value, help)
        ->check(CLI::Validator(
            [name, min](std::string& s) -> std::string {
                auto d = parse_duration(s);
                if (!d) return "'" + s + "' is not a duration (use e.g. 500ms, 2s, 1m)";
                if (*d < min)
                    return fmt::format("{} must be at least {}ms, not {}", name, min.count(), s);
                return *d > std::chrono::hours(1) ? name + " must be at most 1h, not " + s : "";
            },
            "DURATION"))
        ->capture_default_str();
}

}  // namespace

CLI::Validator coalesce_window_validator() {
    return CLI::Validator(
        [](std::string& s) -> std::string {
            auto d = parse_duration(s);
            if (!d) return "'" + s + "' is not a duration (use e.g. 0ms, 1ms, 5ms)";
            return *d > std::chrono::milliseconds(100)
                       ? "--coalesce-window must be at most 100ms, not " + s
                       : "";
        },
        "DURATION");
}

void add_server_options(CLI::App* cmd, ServerArgs& args) {
    auto& o = args.options;
    cmd->add_option("--port", o.port, "TCP port; 0 picks a free one")->capture_default_str();
    cmd->add_option("--bind", o.bind, "address to listen on")->capture_default_str();
    cmd->add_option("--threads", o.threads, "I/O threads (0: one per core)")->capture_default_str();
    cmd->add_option("--max-connections", o.max_connections, "WebSocket connections (0: no limit)")
        ->capture_default_str();
    // The limits of docs/robustness.md, each with the range it may take.
    add_limit(cmd, "--history", o.history, "messages kept per stream for resume and polling",
              std::size_t{1}, std::size_t{10'000'000});
    add_limit(cmd, "--outbound-limit", o.outbound_limit_bytes,
              "bytes queued per connection before conflation, then close 1013", std::size_t{1024},
              std::size_t{1} << 34);
    add_limit(cmd, "--inbound-limit", o.inbound_limit_bytes,
              "largest client message in bytes (close 1009 beyond)", std::size_t{64},
              std::size_t{1} << 30);
    add_limit(cmd, "--max-subscriptions", o.max_subscriptions,
              "channels one connection may subscribe to (too_many_subscriptions beyond)",
              std::size_t{1}, std::size_t{1'000'000});
    add_limit(
        cmd, "--client-rate", o.client_rate,
        "client messages per second per connection, bursts of twice that (rate_limited beyond)",
        0.1, 1e6);
    add_limit(cmd, "--max-errors", o.max_errors,
              "errors one connection may cause before close 1008", std::size_t{1},
              std::size_t{1'000'000'000});
    add_limit(cmd, "--header-limit", o.header_limit_bytes,
              "bytes of an HTTP request's start line (query included) and headers (413 beyond)",
              std::size_t{1024}, std::size_t{1} << 20);
    add_limit(cmd, "--body-limit", o.body_limit_bytes, "bytes of an HTTP request body (413 beyond)",
              std::size_t{0}, std::size_t{64} << 20);
    add_limit(cmd, "--send-buffer", o.socket_send_buffer,
              "SO_SNDBUF of each client socket in bytes (0: the kernel's autotuning)",
              std::size_t{0}, std::size_t{1} << 30);
    add_duration(cmd, "--heartbeat", args.heartbeat,
                 "ping interval of idle connections; silent twice as long: closed",
                 std::chrono::milliseconds(10));
    add_duration(
        cmd, "--handshake-timeout", args.handshake_timeout,
        "time to send a whole HTTP request or WebSocket handshake before the connection is dropped",
        std::chrono::milliseconds(10));
    add_duration(cmd, "--drain-timeout", args.drain_timeout,
                 "time shutdown waits for clients to answer the 1001 close",
                 std::chrono::milliseconds(0));
    cmd->add_option("--coalesce-window", args.coalesce_window, kCoalesceWindowHelp)
        ->check(coalesce_window_validator())
        ->capture_default_str();
    cmd->add_flag("!--no-io-uring", o.io_uring,
                  "write each connection with its own sendmsg, not many in one io_uring "
                  "submission");
    cmd->add_flag("--deflate", o.deflate, "offer permessage-deflate");
    cmd->add_option("--tls-cert", o.tls_cert_file,
                    "PEM certificate chain: serve https:// and wss://")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tls-key", o.tls_key_file, "PEM private key of --tls-cert")
        ->check(CLI::ExistingFile);
    cmd->add_option("--auth-token", o.auth_token,
                    "require ?token=TOKEN or 'Authorization: Bearer TOKEN'");
    cmd->add_option("--allow-origin", o.allowed_origins,
                    "allowed Origin (repeatable; default any)");
    cmd->add_option("--web-root", o.web_root,
                    "folder of the dashboard's built files, served at / (default: dashboard/ "
                    "beside the program, where `make build` puts it)")
        ->check(CLI::ExistingDirectory);
}

std::string default_web_root() {
    // build/streambed serves build/dashboard/, from the repository (make serve) or anywhere else.
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    const auto dir = exe.parent_path() / "dashboard";
    return std::filesystem::is_directory(dir, ec) ? dir.string() : std::string();
}

void apply_durations(ServerArgs& args) {
    // Checked by the options' validators already; the defaults parse.
    args.options.heartbeat = *parse_duration(args.heartbeat);
    args.options.handshake_timeout = *parse_duration(args.handshake_timeout);
    args.options.drain_timeout = *parse_duration(args.drain_timeout);
    args.options.coalesce_window = *parse_duration(args.coalesce_window);
}

int run_server(const char* command, ServerArgs& args, engine::Source& source, engine::Tap* tap,
               const std::function<void()>& before_exit) {
    apply_durations(args);
    // Signals are caught before the listening line: a signal right after it is never fatal.
    engine::SignalWatcher signals;
    // A server started by `bench` ends with it, even when bench dies without stopping it. The
    // variable names bench's pid: if bench died before the request was made, end now.
    if (const char* parent = std::getenv("STREAMBED_EXIT_WITH_PARENT")) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (std::to_string(getppid()) != parent) return 0;
    }
    if (args.options.web_root.empty()) args.options.web_root = default_web_root();
    engine::Server server(args.options);
    if (tap) server.set_tap(tap);
    try {
        // Accepting waits for the source: a restarted world catches up in start() (serve
        // --clock-start), and a client must not resume against a world half caught up.
        server.start(/*accept=*/false);
        source.start(server.publisher());  // every stream is declared when this returns
        server.accept_connections();
    } catch (const std::exception& e) {
        // Before the server goes: a source may run work on its I/O threads (a cluster's reads).
        source.stop();
        fmt::print(stderr, "streambed {}: {}\n", command, e.what());
        return 2;
    }
    fmt::print("listening on {}\n", server.url());
    std::fflush(stdout);
    signals.wait();
    spdlog::info("shutting down");
    source.stop();
    server.shutdown();
    if (before_exit) before_exit();
    return 0;
}

}  // namespace streambed::app
