// cluster_run.hpp: the cluster a scenario with a `cluster` section runs on — a redis-server
// child, an impairment proxy per node between it and Redis (so a node can be cut off), N
// `streambed serve --redis … --cluster NAME` children on fixed ports after their first start —
// the timeline's cluster events (node_kill, node_restart, redis_partition, redis_kill) as
// actions, and what the nodes said of themselves: a sampler reads every node's /q/health every
// 100 ms (which node is the source, failovers and their duration, Redis DOWN seen).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/impairment_proxy.hpp"
#include "runner/node_health.hpp"
#include "runner/redis_process.hpp"
#include "runner/run_report.hpp"
#include "runner/server_handle.hpp"

namespace streambed::runner {

// An action of the timeline at a simulated instant.
struct TimedAction {
    std::int64_t at_ms;
    std::function<void()> act;
};

class ClusterRun {
  public:
    using Clock = std::chrono::steady_clock;

    // `serve_args`: what every node is given besides its cluster options (the world, pacing and
    // server options of the scenario: every node serves the same world).
    ClusterRun(const Scenario& s, std::vector<std::string> serve_args, ServerFactory start,
               std::string redis_program);
    ~ClusterRun();  // stop()
    ClusterRun(const ClusterRun&) = delete;
    ClusterRun& operator=(const ClusterRun&) = delete;

    // Redis, the proxies, the nodes one after the other, then the health sampler. Throws
    // std::runtime_error naming what did not start.
    void start();
    // The nodes' ports: fixed for the run (a node started again takes its port back).
    std::vector<std::uint16_t> ports() const { return ports_; }
    // The simulated clock of the facts: `start` is the run's instant 0.
    void set_clock(Clock::time_point start, double time_scale);
    // The cluster's events of the timeline as actions; their windows added for the report.
    std::vector<TimedAction> steps(const std::vector<Event>& timeline,
                                   std::vector<Window>& windows);
    // At the end: every partition lifted.
    void lift_partitions();
    // The ports of the nodes that run now (the end reads its final seqs from them).
    std::vector<std::uint16_t> live_ports() const;
    // The largest peak resident memory of the nodes running now, in MB.
    double peak_rss_mb() const;
    std::optional<double> failover_max_ms() const;
    std::size_t nodes_down_seen() const;
    // The report's "cluster": nodes, ports, the facts in order, failovers.
    nlohmann::json report() const;
    void stop();  // nodes (SIGTERM), sampler, proxies, Redis; idempotent

  private:
    std::vector<std::string> node_args(std::size_t node) const;
    void start_node(std::size_t node);
    // The node that reports itself the source now (asked afresh, for up to 2 s); -1 if none.
    int find_source();
    int resolve(int node);  // Event::kNodeSource resolved, or the index itself
    // `source`: the node was found the source just now (else the sampler's last view decides).
    void node_down(std::size_t node, bool kill, bool source);
    // The node goes; if it was the source, the failover clock starts.
    void note_loss(std::size_t node, const std::string& how, bool source);
    void fact(const std::string& text);  // under mu_
    void sample_loop();
    double sim_seconds() const;

    const Scenario& s_;
    const std::vector<std::string> serve_args_;
    const ServerFactory start_;
    const std::string redis_program_, name_;
    std::unique_ptr<RedisProcess> redis_;
    std::vector<std::unique_ptr<proxy::ImpairmentProxy>> proxies_;  // node -> Redis
    std::vector<std::unique_ptr<ServerHandle>> nodes_;              // the timeline's thread only
    std::vector<std::uint16_t> ports_;
    std::uint16_t redis_port_ = 0;             // kept for the report after Redis is gone
    std::unique_ptr<std::atomic<bool>[]> up_;  // read by the sampler
    std::atomic<std::int64_t> origin_ns_{0};   // Clock's ns of instant 0; 0: not yet
    std::atomic<double> scale_{1};

    mutable std::mutex mu_;  // what follows: the sampler's and the timeline's
    std::condition_variable cv_;
    bool stopping_ = false;
    std::vector<NodeHealth::State> last_;
    int source_ = -1;                               // the node last seen as the source
    std::optional<Clock::time_point> source_lost_;  // since the source was lost, none seen
    int lost_node_ = -1;
    std::optional<double> failover_max_ms_;
    std::set<std::size_t> down_seen_;
    nlohmann::json facts_ = nlohmann::json::array(), failovers_ = nlohmann::json::array();
    std::thread sampler_;
};

}  // namespace streambed::runner
