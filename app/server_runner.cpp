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
            return parse_time_scale(v) ? "" : "'" + v + "' is not a " + what + ": use a positive number or 'max'";
        },
        "X|max");
}

void add_server_options(CLI::App* cmd, ServerArgs& args) {
    auto& o = args.options;
    cmd->add_option("--port", o.port, "TCP port; 0 picks a free one")->capture_default_str();
    cmd->add_option("--bind", o.bind, "address to listen on")->capture_default_str();
    cmd->add_option("--threads", o.threads, "I/O threads (0: one per core)")->capture_default_str();
    cmd->add_option("--max-connections", o.max_connections, "WebSocket connections (0: no limit)")
        ->capture_default_str();
    cmd->add_option("--history", o.history, "messages kept per stream for resume and polling")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
        ->capture_default_str();
    cmd->add_option("--outbound-limit", o.outbound_limit_bytes,
                    "bytes queued per connection before conflation, then close 1013")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 34))
        ->capture_default_str();
    cmd->add_option("--inbound-limit", o.inbound_limit_bytes, "largest client message in bytes (close 1009 beyond)")
        ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 30))
        ->capture_default_str();
    cmd->add_option("--heartbeat", args.heartbeat, "ping interval of idle connections; silent twice as long: closed")
        ->check(CLI::Validator(
            [](std::string& s) -> std::string {
                auto d = parse_duration(s);
                if (!d) return "'" + s + "' is not a duration (use e.g. 500ms, 2s, 1m)";
                return d->count() < 10 ? "--heartbeat must be at least 10ms" : "";
            },
            "DURATION"))
        ->capture_default_str();
    cmd->add_option("--send-buffer", o.socket_send_buffer,
                    "SO_SNDBUF of each client socket in bytes (0: the kernel's autotuning)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 30))
        ->capture_default_str();
    cmd->add_flag("--deflate", o.deflate, "offer permessage-deflate");
    cmd->add_option("--tls-cert", o.tls_cert_file, "PEM certificate chain: serve https:// and wss://")
        ->check(CLI::ExistingFile);
    cmd->add_option("--tls-key", o.tls_key_file, "PEM private key of --tls-cert")->check(CLI::ExistingFile);
    cmd->add_option("--auth-token", o.auth_token, "require ?token=TOKEN or 'Authorization: Bearer TOKEN'");
    cmd->add_option("--allow-origin", o.allowed_origins, "allowed Origin (repeatable; default any)");
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

int run_server(const char* command, ServerArgs& args, engine::Source& source, engine::Tap* tap,
               const std::function<void()>& before_exit) {
    args.options.heartbeat = *parse_duration(args.heartbeat);
    if (args.options.heartbeat.count() < 10) {
        fmt::print(stderr, "streambed {}: --heartbeat must be at least 10ms\n", command);
        return 2;
    }
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
