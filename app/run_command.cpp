// run_command.cpp: options of `run`, the scenario loaded and checked, the run, its report
// written as JSON and HTML, and the verdict as the exit status.
#include "app/run_command.hpp"

#include <fmt/format.h>
#include <spdlog/cfg/env.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>

#include "app/in_process_server.hpp"
#include "runner/html_report.hpp"
#include "runner/redis_process.hpp"
#include "runner/run.hpp"
#include "runner/run_report.hpp"
#include "runner/scenario_parse.hpp"

namespace streambed::app {
namespace {

struct RunArgs {
    std::string file;
    std::optional<std::uint64_t> seed;
    std::string record, report, html, target;
    bool in_process = false;
};

std::string self_program() {
    char buf[4096];
    const auto n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("streambed");
}

// Writes `text` to `path`; false (and one line on stderr) when it cannot.
bool write_file(const std::string& path, const std::string& text, const char* what) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
        fmt::print(stderr, "streambed run: cannot write the {} to '{}'\n", what, path);
        return false;
    }
    return true;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
    auto args = std::make_shared<RunArgs>();
    auto* cmd = app.add_subcommand(
        "run", "Run a scripted scenario: a client fleet through network faults, checked");
    cmd->add_option("scenario", args->file, "SCENARIO.json (docs/scenarios.md)")->required();
    cmd->add_option("--seed", args->seed,
                    "seed of the world, the impairments and the fleet (overrides the file's)");
    cmd->add_option("--record", args->record, "record the whole run to FILE.db");
    cmd->add_option("--report", args->report, "write the report as JSON to FILE.json");
    cmd->add_option("--html", args->html,
                    "write the report as one self-contained HTML page to FILE.html");
    cmd->add_option("--target", args->target,
                    "drive an external server at ws://HOST:PORT instead of starting one");
    cmd->add_flag("--in-process", args->in_process,
                  "run the server in this process instead of a child (one process for a debugger "
                  "or sanitizer; "
                  "server_rss is then skipped)");

    return [args] {
        auto parsed = runner::load_scenario(args->file);
        if (!parsed.scenario) {
            fmt::print(stderr, "streambed run: {}\n", parsed.error);
            return 2;
        }
        if (args->in_process && !args->target.empty()) {
            fmt::print(stderr,
                       "streambed run: --in-process starts a server; --target drives another one: "
                       "pick one\n");
            return 2;
        }
        if (args->target.starts_with("wss://")) {
            // The fleet speaks TLS, but the runner's proxies and its final reads of the polling
            // API are plain TCP: a TLS server is driven by `bench` (docs/scenarios.md).
            fmt::print(stderr,
                       "streambed run: --target '{}': wss:// is driven by bench, not by run\n",
                       args->target);
            return 2;
        }
        if (!args->target.empty() && !runner::parse_target(args->target)) {
            fmt::print(stderr, "streambed run: --target '{}' is not ws://HOST:PORT\n",
                       args->target);
            return 2;
        }
        if (parsed.scenario->cluster) {
            // A cluster is the runner's own processes: nothing to aim at another server, run in
            // this process or record in one file.
            for (const auto& [given, option] : {std::pair{!args->target.empty(), "--target"},
                                                std::pair{args->in_process, "--in-process"},
                                                std::pair{!args->record.empty(), "--record"}})
                if (given) {
                    fmt::print(stderr,
                               "streambed run: {}: not with a scenario's 'cluster' (the runner "
                               "starts the nodes and Redis itself)\n",
                               option);
                    return 2;
                }
            if (!runner::find_redis_server()) {
                fmt::print(stderr,
                           "streambed run: {}: skipped: redis-server not found (the scenario "
                           "runs a cluster; apt-get install redis-server)\n",
                           args->file);
                fmt::print("scenario {}: skipped: redis-server not found\n", parsed.scenario->name);
                return runner::kSkippedExit;
            }
        }
        // Thousands of clients need as many descriptors: raise the soft limit to the hard one.
        rlimit files{};
        if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
            files.rlim_cur = files.rlim_max;
            setrlimit(RLIMIT_NOFILE, &files);
        }
        // The server logs warnings and errors only: the run's own summary is the output.
        ::setenv("SPDLOG_LEVEL", "warn", 0);
        if (args->in_process) spdlog::cfg::load_env_levels();
        runner::RunOptions o;
        o.scenario_file = args->file;
        o.program = self_program();
        o.seed = args->seed;
        o.record = args->record;
        o.target = args->target;
        o.progress = isatty(STDERR_FILENO) != 0;
        o.in_process = args->in_process;
        if (args->in_process) o.start_server = in_process_server();
        const auto outcome = runner::run_scenario(*parsed.scenario, o);
        bool written = true;
        if (!args->report.empty())
            written = write_file(args->report, outcome.report.dump(2) + "\n", "report") && written;
        if (!args->html.empty())
            written = write_file(args->html, runner::render_html(outcome.report), "HTML report") &&
                      written;
        fmt::print("{}", runner::summary_text(outcome.report));
        std::fflush(stdout);
        return outcome.exit_code != 0 ? 1 : (written ? 0 : 2);
    };
}

}  // namespace streambed::app
