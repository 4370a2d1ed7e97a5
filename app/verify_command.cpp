// verify_command.cpp: options of `verify`; a fresh server and simulator with the recorded seed,
// configuration and time scale (in this process), the re-drive, one line per session.
#include "app/verify_command.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <vector>

#include "app/options_parse.hpp"
#include "engine/clock.hpp"
#include "engine/hub.hpp"
#include "engine/server.hpp"
#include "recorder/session_driver.hpp"
#include "recorder/verify.hpp"
#include "simulator/simulator_source.hpp"

namespace streambed::app {
namespace {

struct VerifyArgs {
    std::string file;
    std::optional<std::int64_t> run;
    std::string tolerance = fmt::format("{}ms", recorder::RecordedRun::kDefaultToleranceUs / 1000);
};

// Payloads in a report line: long ones cut, so that a line stays readable.
std::string shorten(const std::string& text) {
    constexpr std::size_t kMax = 200;
    std::string out = text.size() <= kMax
                          ? text
                          : text.substr(0, kMax) + fmt::format("... ({} bytes)", text.size());
    for (auto& c : out)
        if (c == '\n' || c == '\r') c = ' ';
    return out;
}

int refuse(const std::string& message) {
    fmt::print(stderr, "streambed verify: {}\n", message);
    return 2;
}

int verify(const VerifyArgs& a) {
    const auto tolerance_us = parse_duration(a.tolerance)->count() * 1000;
    std::unique_ptr<recorder::RecordedRun> rec;
    try {
        rec = std::make_unique<recorder::RecordedRun>(a.file, a.run);
    } catch (const recorder::RecordingError& e) {
        return refuse(e.what());
    }
    const auto where = fmt::format("{}: run {}", a.file, rec->id());
    if (!(rec->time_scale() > 0))
        return refuse(fmt::format(
            "{} was recorded unpaced (--time-scale max): when its sessions acted in simulated "
            "time cannot be reproduced; verify needs a paced run",
            where));
    simulator::SimConfig sim;
    try {
        if (!rec->config().empty()) sim = simulator::parse_config(rec->config());
        sim.seed = rec->seed();
        sim.time_scale = rec->time_scale();
        simulator::validate(sim);
    } catch (const simulator::ConfigError& e) {
        return refuse(
            fmt::format("{}: the recorded configuration cannot be used: {}", where, e.what()));
    }
    // When the recorded simulation started (wall): its epoch instant, on the recorded clock.
    std::int64_t recorded_start = rec->started_us();
    if (const auto& c = rec->clock()) {
        recorded_start = engine::wall_at_us(*c, sim.epoch_ms);
        if (std::llabs(recorded_start - rec->started_us()) > 60'000'000)
            return refuse(fmt::format(
                "{}: its clock does not start at the configured epoch: not a run of the "
                "simulator (`streambed serve`)",
                where));
    }
    const auto& sessions = rec->sessions();
    if (rec->dropped() > 0)
        fmt::print(stderr,
                   "streambed verify: warning: {} dropped {} events while recording: frames "
                   "missing from it will show as differences\n",
                   where, rec->dropped());
    if (sessions.empty()) {
        fmt::print("{}: no client session to verify\n", where);
        return 0;
    }
    std::int64_t last_end = recorded_start;
    for (const auto& s : sessions) last_end = std::max(last_end, s.end_us);
    fmt::print("verifying {} (seed {}, time scale {}): {} session(s), {:.1f} s of recording\n",
               where, rec->seed(), rec->time_scale(), sessions.size(),
               static_cast<double>(last_end - recorded_start) / 1e6);
    std::fflush(stdout);

    engine::ServerOptions options;
    options.port = 0;
    options.bind = "127.0.0.1";
    if (rec->heartbeat_ms() >= 10)
        options.heartbeat = std::chrono::milliseconds(rec->heartbeat_ms());
    std::vector<recorder::Observed> observed;
    {
        engine::Server server(options);
        simulator::SimulatorSource source(sim);
        try {
            server.start();
            source.start(server.publisher());
        } catch (const std::exception& e) {
            return refuse(fmt::format("cannot start the server: {}", e.what()));
        }
        // The recorded timeline, moved so that the same simulated instants fall at the same
        // offsets from the start of this simulation.
        const auto shift_us = server.hub().clock().wall_us - recorded_start;
        observed = recorder::drive_sessions(server.port(), sessions, shift_us, tolerance_us);
        source.stop();
        server.shutdown();
    }

    std::size_t differing = 0;
    try {
        for (std::size_t i = 0; i < sessions.size(); ++i) {
            const auto& s = sessions[i];
            const auto verdict = rec->compare(s, observed[i], tolerance_us);
            if (verdict.difference) {
                ++differing;
                const auto& d = *verdict.difference;
                fmt::print("session {} ({}): differs at frame {}: expected {} got {}\n", s.name,
                           s.endpoint, d.frame, shorten(d.expected), shorten(d.got));
            } else {
                fmt::print("session {} ({}): ok ({} frames compared)\n", s.name, s.endpoint,
                           verdict.compared);
            }
        }
    } catch (const recorder::RecordingError& e) {
        std::fflush(stdout);
        return refuse(fmt::format("{}: {}", a.file, e.what()));
    }
    if (differing)
        fmt::print("{}: {} of {} session(s) differ\n", where, differing, sessions.size());
    else
        fmt::print("{}: all {} session(s) the same\n", where, sessions.size());
    return differing ? 1 : 0;
}

}  // namespace

std::function<int()> add_verify_command(CLI::App& app) {
    auto a = std::make_shared<VerifyArgs>();
    auto* cmd = app.add_subcommand(
        "verify",
        "Re-drive each recorded client session against a fresh server and compare what comes back");
    cmd->add_option("file", a->file, "the recording (FILE.db)")->required();
    cmd->add_option("--run", a->run, "the run to verify (default: the latest)");
    cmd->add_option("--tolerance", a->tolerance,
                    "how much the re-drive's timing may differ: replies may come this much "
                    "later, subscription edges move this much")
        ->check(CLI::Validator(
            [](std::string& s) {
                return parse_duration(s) ? ""
                                         : "'" + s + "' is not a duration (use e.g. 500ms, 2s)";
            },
            "DURATION"))
        ->capture_default_str();
    return [a] { return verify(*a); };
}

}  // namespace streambed::app
