// run.cpp: one scenario from start to verdict — server, proxies, fleet, the timeline played at
// its instants (simulated time compressed by the time scale), the drain, the report.
#include "runner/run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <thread>

#include "bench/server_process.hpp"
#include "engine/clock.hpp"
#include "fleet/fleet.hpp"
#include "proxy/impairment_proxy.hpp"
#include "runner/cluster_run.hpp"
#include "runner/group_paths.hpp"
#include "runner/run_report.hpp"
#include "runner/server_handle.hpp"
#include "runner/server_setup.hpp"
#include "runner/verdict.hpp"

namespace streambed::runner {
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

namespace {

// Waits until `t`: the timeline's pacing (nothing else is waited for here).
void wait_until(Clock::time_point t) {
    std::this_thread::sleep_until(t);
}

using Step = TimedAction;  // cluster_run.hpp

class Run {
  public:
    Run(const Scenario& s, const RunOptions& o) : s_(s), o_(o), seed_(o.seed.value_or(s.seed)) {}

    RunOutcome go() {
        RunOutcome out;
        const auto started_wall = std::chrono::system_clock::now();
        const auto t0 = Clock::now();
        std::string error;
        try {
            start_server();
            start_proxies();
            start_fleet();
            play_timeline();
            finish();
        } catch (const std::exception& e) {
            error = e.what();
        }
        teardown();
        if (cluster_) {
            measured_.failover_max_ms = cluster_->failover_max_ms();
            measured_.nodes_down_seen = cluster_->nodes_down_seen();
        }
        const double wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
        out.report =
            make_report(ReportInput{s_, o_, seed_, started_wall, wall_s, result_, measured_,
                                    windows_, connected_series_, bucket_ms_, error});
        if (cluster_) out.report["cluster"] = cluster_->report();
        out.exit_code = (!error.empty() || out.report.value("result", "fail") != "pass") ? 1 : 0;
        return out;
    }

  private:
    double scale() const { return s_.time_scale; }  // always paced (scenario_parse.cpp)
    Clock::time_point wall_at(std::int64_t sim_ms) const {
        return start_ + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double, std::micro>(
                                engine::wall_span_us(scale(), sim_ms)));
    }
    std::vector<std::size_t> groups_of(const std::string& name) const {
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < s_.groups.size(); ++i)
            if (name.empty() || s_.groups[i].name == name) out.push_back(i);
        return out;
    }

    void start_server() {
        if (!o_.target.empty()) {
            auto t = parse_target(o_.target);
            if (!t) throw std::runtime_error("--target '" + o_.target + "' is not ws://HOST:PORT");
            upstream_ = *t;
            measured_.server_skip_reason =
                "needs the server's process (--target drives an external one)";
            measured_.recording_skip_reason =
                "needs the server's process (--target drives an external one)";
            return;
        }
        clock_start_ms_ = engine::wall_now_us() / 1000;
        server_args_ = server_arguments(s_, seed_, clock_start_ms_, o_.record, config_file_);
        start_server_ = o_.start_server ? o_.start_server : child_server(o_.program);
        if (s_.cluster) return start_cluster();
        server_ = start_server_(server_args_.args, 0);
        upstreams_ = {{"127.0.0.1", server_->port()}};
        upstream_ = {"127.0.0.1", server_->port()};
        if (server_->pid() == 0)
            measured_.server_skip_reason =
                "the server runs in this process (--in-process): its memory is not its own";
        if (o_.record.empty())
            measured_.recording_skip_reason = "nothing recorded: run with --record FILE.db";
    }

    void start_cluster() {
        auto redis = o_.redis_server.empty() ? find_redis_server() : o_.redis_server;
        if (!redis) throw std::runtime_error("redis-server not found: a cluster needs one");
        cluster_ = std::make_unique<ClusterRun>(s_, server_args_.args, start_server_, *redis);
        cluster_->start();
        for (auto port : cluster_->ports()) upstreams_.push_back({"127.0.0.1", port});
        upstream_ = upstreams_.front();
        measured_.recording_skip_reason = "a cluster is not recorded (run refuses --record)";
    }

    void start_proxies() {
        if (upstreams_.empty()) upstreams_ = {upstream_};  // --target
        proxies_ = start_group_proxies(s_, upstreams_, seed_);
    }

    void start_fleet() {
        fleet::FleetOptions fo;
        fo.seed = seed_;
        fo.time_scale = scale();
        fo.threads = 2;
        bucket_ms_ = std::max<std::int64_t>(1000, s_.duration.count() / 120);
        fo.bucket = Millis{bucket_ms_};
        // A black-holed upgrade is given up after a few heartbeats (wall), like the dead-connection
        // check.
        fo.connect_timeout =
            std::clamp(Millis{4 * s_.server.heartbeat.count()}, Millis{250}, Millis{5000});
        fleet_ = std::make_unique<fleet::Fleet>(fo, s_.groups, group_routes(proxies_, upstreams_));
        measured_.connected_at.resize(s_.groups.size());
        start_ = Clock::now();
        if (cluster_) cluster_->set_clock(start_, scale());
        cpu_at_start_ = bench::own_cpu_seconds();
        fleet_->start();
    }

    std::vector<Step> steps();

    void play_timeline() {
        auto plan = steps();
        // Samples of the connected clients: every bucket, and at every expectation's instant.
        for (std::int64_t t = 0; t <= s_.duration.count(); t += bucket_ms_)
            plan.push_back({t, [this] {
                                connected_series_.push_back(
                                    static_cast<double>(fleet_->connected()));
                            }});
        for (const auto& e : s_.expectations)
            if (e.at) {
                const auto at = e.at->count();
                plan.push_back({at, [this, at] {
                                    for (std::size_t g = 0; g < s_.groups.size(); ++g)
                                        measured_.connected_at[g][at] = fleet_->connected(g);
                                }});
            }
        std::stable_sort(plan.begin(), plan.end(),
                         [](const Step& a, const Step& b) { return a.at_ms < b.at_ms; });
        auto next_progress = Clock::now();
        for (auto& step : plan) {
            while (o_.progress && Clock::now() < wall_at(step.at_ms)) {
                if (Clock::now() >= next_progress) {
                    print_progress();
                    next_progress = Clock::now() + std::chrono::milliseconds(250);
                }
                wait_until(std::min(wall_at(step.at_ms), next_progress));
            }
            wait_until(wall_at(step.at_ms));
            step.act();
            sample_rss();
        }
        wait_until(wall_at(s_.duration.count()));
        if (o_.progress) std::fputs("\n", stderr);
    }

    void print_progress() {
        const auto now = Clock::now();
        const auto live = fleet_->live();
        const double dt = std::chrono::duration<double>(now - progress_at_).count();
        const double rate =
            dt > 0 ? static_cast<double>(live.messages - progress_messages_) / dt : 0;
        progress_at_ = now;
        progress_messages_ = live.messages;
        std::fputs(progress_line(fleet_->sim_elapsed_ms(), s_.duration.count(), fleet_->connected(),
                                 rate, live.p99_us, windows_)
                       .c_str(),
                   stderr);
    }

    void sample_rss() {
        if (cluster_)
            measured_.server_rss_mb =
                std::max(measured_.server_rss_mb.value_or(0.0), cluster_->peak_rss_mb());
        if (!server_ || server_->pid() <= 0) return;  // in-process, or killed
        const double mb = static_cast<double>(bench::peak_resident_bytes(server_->pid())) / 1e6;
        measured_.server_rss_mb = std::max(measured_.server_rss_mb.value_or(0.0), mb);
    }

    // The end: impairments lifted, the final seqs read from the server, the fleet drained.
    void finish() {
        for (std::size_t g = 0; g < s_.groups.size(); ++g)
            measured_.connected_end.push_back(fleet_->connected(g));
        for (auto& group : proxies_)
            for (auto& p : group) {
                p->set_partition(false);
                p->clear();
            }
        if (cluster_) {
            cluster_->lift_partitions();
            // Every node that runs: the newest seq any of them has (they follow the same Redis).
            for (auto port : cluster_->live_ports())
                for (const auto& [key, seq] : final_seqs({"127.0.0.1", port}, s_))
                    finals_[key] = std::max(finals_[key], seq);
        } else if (!server_ && o_.target.empty()) {
            throw std::runtime_error("the server was down at the end of the run");
        } else {
            finals_ = final_seqs(upstream_, s_);
        }
        const auto deadline = Clock::now() + std::chrono::seconds(5);
        while (!fleet_->caught_up(finals_) && Clock::now() < deadline)
            wait_until(Clock::now() + std::chrono::milliseconds(20));
        sample_rss();
        fleet_->stop();
        measured_.client_cpu_s = bench::own_cpu_seconds() - cpu_at_start_;
        result_ = fleet_->result(finals_);
        measured_.groups = result_.groups;
    }

    void teardown() {
        if (fleet_) fleet_->stop();
        for (auto& group : proxies_)
            for (auto& p : group) p->stop();
        if (cluster_) cluster_->stop();
        if (server_) {
            server_->stop();  // 1001 to every client, the recording flushed
            server_.reset();
        }
        if (!o_.record.empty() && o_.target.empty())
            measured_.recording_complete = recording_complete(o_.record, result_);
        if (!config_file_.empty()) std::remove(config_file_.c_str());
    }

    const Scenario& s_;
    const RunOptions& o_;
    const std::uint64_t seed_;
    std::int64_t clock_start_ms_ = 0, bucket_ms_ = 1000;
    double cpu_at_start_ = 0;
    Clock::time_point progress_at_{};
    std::uint64_t progress_messages_ = 0;
    std::string config_file_;
    ServerArguments server_args_;
    ServerFactory start_server_;
    std::unique_ptr<ServerHandle> server_;
    TargetAddress upstream_;
    std::vector<TargetAddress> upstreams_;  // the server, or a cluster's nodes
    std::unique_ptr<ClusterRun> cluster_;
    GroupProxies proxies_;
    std::unique_ptr<fleet::Fleet> fleet_;
    Clock::time_point start_;
    fleet::FinalSeqs finals_;
    fleet::FleetResult result_;
    Measured measured_;
    std::vector<Window> windows_;
    std::vector<double> connected_series_;
};

// The timeline as actions, each window recorded for the report (the charts shade them).
std::vector<Step> Run::steps() {
    std::vector<Step> plan;
    const auto end = s_.duration.count();
    for (const auto& e : s_.timeline) {
        const auto at = e.at.count();
        const std::string who = e.group.empty() ? "all" : e.group;
        switch (e.kind) {
            case Event::Kind::impair: {
                const auto until = e.duration.count() > 0 ? at + e.duration.count() : end;
                windows_.push_back(
                    {at, until, "impair", e.group, fmt::format("{} on {}", e.name, who)});
                auto imp = to_proxy_impairment(e);
                // A reset without a duration is one blow: the connections open at that instant are
                // reset, and the clients may come back at once (docs/scenarios.md).
                const bool one_shot_reset = imp.reset && e.duration.count() == 0;
                if (one_shot_reset) imp.reset = false;
                plan.push_back(
                    {at, [this, imp, one_shot_reset, g = groups_of(e.group)] {
                         for (auto i : g)
                             for (auto& p : proxies_[i]) {
                                 if (one_shot_reset) p->reset_all();
                                 if (!imp.stall && !imp.reset && imp.latency.count() == 0 &&
                                     imp.jitter.count() == 0 && imp.bandwidth == 0 &&
                                     imp.slice == 0 && imp.limit_data == 0 &&
                                     imp.drop_after_frames == 0 && imp.hold_stream.empty())
                                     continue;  // nothing left to apply
                                 p->add(imp);
                             }
                     }});
                if (e.duration.count() > 0)
                    plan.push_back({until, [this, name = e.name, g = groups_of(e.group)] {
                                        for (auto i : g)
                                            for (auto& p : proxies_[i]) p->remove(name);
                                    }});
                break;
            }
            case Event::Kind::clear:
                plan.push_back({at, [this, name = e.name, g = groups_of(e.group)] {
                                    for (auto i : g)
                                        for (auto& p : proxies_[i])
                                            name.empty() ? p->clear() : (void)p->remove(name);
                                }});
                break;
            case Event::Kind::partition:
                windows_.push_back(
                    {at, at + e.duration.count(), "partition", e.group, "partition " + who});
                plan.push_back({at, [this, g = groups_of(e.group)] {
                                    for (auto i : g)
                                        for (auto& p : proxies_[i]) p->set_partition(true);
                                }});
                plan.push_back({at + e.duration.count(), [this, g = groups_of(e.group)] {
                                    for (auto i : g)
                                        for (auto& p : proxies_[i]) p->set_partition(false);
                                }});
                break;
            case Event::Kind::server_kill:
            case Event::Kind::server_restart: {
                const bool kill = e.kind == Event::Kind::server_kill;
                windows_.push_back({at, at + e.down_for.count(),
                                    kill ? "server_kill" : "server_restart", "",
                                    kill ? "server killed" : "server restarted"});
                if (!o_.target.empty())
                    break;  // not ours to kill: the report's windows still show it
                plan.push_back({at, [this, kill] {
                                    sample_rss();
                                    if (kill)
                                        server_->kill();
                                    else
                                        server_->stop();
                                    server_.reset();
                                }});
                plan.push_back({at + e.down_for.count(), [this] {
                                    server_ = start_server_(server_args_.args, upstream_.port);
                                }});
                break;
            }
            case Event::Kind::churn:
                windows_.push_back({at, at, "churn", e.group, "churn " + who});
                plan.push_back({at, [this, f = e.fraction, g = groups_of(e.group)] {
                                    for (auto i : g) fleet_->churn(i, f);
                                }});
                break;
            case Event::Kind::node_kill:
            case Event::Kind::node_restart:
            case Event::Kind::redis_partition:
            case Event::Kind::redis_kill:
                break;  // cluster_run.cpp
            case Event::Kind::join:
            case Event::Kind::leave: {
                const bool join = e.kind == Event::Kind::join;
                windows_.push_back(
                    {at, at, join ? "join" : "leave", e.group, (join ? "join " : "leave ") + who});
                plan.push_back({at, [this, join, g = groups_of(e.group)] {
                                    for (auto i : g) join ? fleet_->join(i) : fleet_->leave(i);
                                }});
                break;
            }
        }
    }
    if (cluster_)
        for (auto& step : cluster_->steps(s_.timeline, windows_)) plan.push_back(std::move(step));
    return plan;
}

}  // namespace

RunOutcome run_scenario(const Scenario& scenario, const RunOptions& options) {
    try {
        return Run(scenario, options).go();
    } catch (const std::exception& e) {
        RunOutcome out;
        out.exit_code = 1;
        out.report = json{{"scenario", scenario.name}, {"result", "fail"}, {"error", e.what()}};
        return out;
    }
}

}  // namespace streambed::runner
