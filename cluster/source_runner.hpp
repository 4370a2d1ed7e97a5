// source_runner.hpp: starts and stops this node's simulator when it takes or loses the source
// lease, on a thread of its own: catching up a long world takes longer than a lease round, and
// the lease keeps being renewed meanwhile. Each start is a fresh SimulatorSource continuing the
// cluster's world from its clock start, skipping what the cluster already holds. On a node the
// source serves its messages into the node's hub itself: the node's follower is paused from
// before a start until after the stop (unless another start follows at once).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "cluster/checkpoint.hpp"
#include "cluster/cluster_options.hpp"
#include "simulator/config.hpp"

namespace streambed::simulator {
class SimulatorSource;
}

namespace streambed::cluster {

class Follower;
class SourcePublisher;

class SourceRunner {
  public:
    // `world` carries the cluster's clock start. `follower`: the node's, paused while the
    // source serves the node's hub through it; null: the source only appends.
    SourceRunner(const ClusterOptions& options, simulator::SimConfig world,
                 Follower* follower = nullptr);
    ~SourceRunner();

    // Queued in order, done on the runner's thread. A start publishes the world's messages
    // after the first `skip` (the cluster's head).
    void start_source(std::uint64_t skip);
    void stop_source();
    // Waits up to `d` for every queued start and stop to be done: true when they are.
    bool wait_done(std::chrono::milliseconds d);
    // The running source failed (lease lost, Redis error) or could not start: stop it (any thread).
    bool failed() const;
    std::string failure() const;
    // Stops the source and the thread.
    void shutdown();

  private:
    void run();
    void do_start(std::uint64_t skip);
    // `follow_again`: resume the follower (no start follows at once).
    void do_stop(bool follow_again);
    // The cluster's checkpoint when this world can continue from it (at most `skip`, of this
    // world); else nullopt, saying why in the log unless there is none.
    std::optional<Checkpoint> usable_checkpoint(RedisConnection& redis, std::uint64_t skip) const;
    void enqueue(std::optional<std::uint64_t> start);

    const ClusterOptions& options_;
    const simulator::SimConfig world_;
    Follower* const follower_;
    bool follower_paused_ = false;  // the runner's thread

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::optional<std::uint64_t>> commands_;  // a skip: start; nullopt: stop
    std::uint64_t queued_ = 0, done_ = 0;
    bool quit_ = false;
    std::string start_failure_;  // guarded by mu_
    // Owned by the runner's thread; the pointers are swapped under mu_ for failed().
    std::unique_ptr<SourcePublisher> publisher_;
    std::unique_ptr<simulator::SimulatorSource> source_;
    std::thread thread_;
};

}  // namespace streambed::cluster
