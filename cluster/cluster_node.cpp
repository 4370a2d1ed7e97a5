// cluster_node.cpp: joining the world, the lease rounds, and the node's health.
#include "cluster/cluster_node.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "cluster/checkpoint.hpp"
#include "cluster/cluster_scripts.hpp"
#include "cluster/follower.hpp"
#include "cluster/source_runner.hpp"
#include "engine/clock.hpp"
#include "engine/hub.hpp"
#include "engine/thread_name.hpp"
#include "simulator/world.hpp"

namespace streambed::cluster {
namespace {

std::string default_node_name() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::random_device rd;
    return fmt::format("{}-{}-{:06x}", host, ::getpid(), rd() & 0xffffff);
}

}  // namespace

ClusterNode::ClusterNode(ClusterOptions options, simulator::SimConfig world)
    : options_(std::move(options)), world_(std::move(world)) {
    if (options_.node.empty()) options_.node = default_node_name();
    if (world_.time_scale <= 0) throw ClusterError("a cluster needs a paced time scale, not 'max'");
}

ClusterNode::~ClusterNode() {
    stop();
}

void ClusterNode::join_world(RedisConnection& redis) {
    const ClusterKeys keys(options_.name);
    const std::string epoch = simulator::world_epoch(world_);
    // The first node names the world and its clock start; the others take them.
    const nlohmann::json mine{
        {"epoch", epoch},
        {"clockStartMs", world_.clock_start_ms.value_or(engine::wall_now_us() / 1000)},
        {"timeScale", world_.time_scale}};
    Reply set = redis.command({"SET", keys.world(), mine.dump(), "NX"});
    Reply got = set && !is_error(*set) ? redis.command({"GET", keys.world()}) : nullptr;
    if (!got || is_error(*got) || is_nil(*got))
        throw ClusterError(fmt::format("cannot join cluster {}: {}", options_.name,
                                       got ? std::string(text_of(*got)) : redis.error()));
    world_json_ = std::string(text_of(*got));
    const auto theirs = nlohmann::json::parse(world_json_, nullptr, false);
    if (!theirs.is_object() || theirs.value("epoch", "") != epoch ||
        theirs.value("timeScale", 0.0) != world_.time_scale || !theirs.contains("clockStartMs"))
        throw ClusterError(
            fmt::format("cluster {} serves another world ({}); this node's seed, configuration and "
                        "time scale make {} at "
                        "scale {}: give the same, or another --cluster",
                        options_.name, world_json_, epoch, world_.time_scale));
    world_.clock_start_ms = theirs["clockStartMs"].get<std::int64_t>();
    // A successor catches up from the newest checkpoint: only what follows it counts.
    std::int64_t held_ms = 0;
    if (Reply c = redis.command({"GET", keys.checkpoint()}); c && !is_error(*c) && !is_nil(*c)) {
        std::string ignored;
        if (const auto checkpoint = Checkpoint::parse(text_of(*c), ignored))
            held_ms = std::max<std::int64_t>(0, checkpoint->mark_ms - world_.epoch_ms);
    }
    try {
        simulator::validate_clock_start(world_, engine::wall_now_us() / 1000, held_ms);
    } catch (const simulator::ConfigError& e) {
        throw ClusterError(
            fmt::format("cluster {}: {} (its world began too long ago: delete its keys or use "
                        "another --cluster)",
                        options_.name, e.what()));
    }
}

void ClusterNode::start(engine::Publisher& publisher) {
    hub_ = dynamic_cast<engine::Hub*>(&publisher);
    if (!hub_) throw ClusterError("a cluster node publishes into the server's hub");
    std::string error;
    auto redis = RedisConnection::open(options_.redis, options_.command_timeout, error);
    if (!redis) throw ClusterError("cannot reach Redis: " + error);
    join_world(*redis);

    // The local hub names the same world, clock and streams as every other node's.
    hub_->set_epoch(simulator::world_epoch(world_));
    hub_->set_clock({world_.epoch_ms, *world_.clock_start_ms * 1000, world_.time_scale});
    { simulator::World declare(world_, *hub_); }  // declares the streams only: publishes nothing
    hub_->backend().attach("redis");
    hub_->backend().set(true, "follower");

    follower_ = std::make_unique<Follower>(
        options_, *hub_, [this](bool up, const std::string& why) { report(true, up, why); });
    if (!follower_->load(*redis, error))
        throw ClusterError("cannot read the cluster's streams: " + error);
    follower_->start();
    runner_ = std::make_unique<SourceRunner>(options_, world_, follower_.get());
    // Taking the source means catching the world up before listening, which may outlast the
    // lease: it is renewed meanwhile, as the lease thread does later.
    if (!lease_round(*redis, error))
        throw ClusterError("cannot take part in the source lease: " + error);
    while (!runner_->wait_done(options_.lease_round_every()))
        if (!lease_round(*redis, error))
            throw ClusterError("cannot take part in the source lease: " + error);
    report(false, true, "");
    spdlog::info("cluster {}: node {} joined as {} ({} messages loaded)", options_.name,
                 options_.node, is_source() ? "the source" : "a follower", follower_->ingested());
    lease_thread_ = std::thread([this, r = std::move(redis)]() mutable {
        engine::name_this_thread("redis-lease");
        lease_loop(std::move(r));
    });
}

bool ClusterNode::lease_round(RedisConnection& redis, std::string& error) {
    const ClusterKeys keys(options_.name);
    if (source_ && runner_->failed()) demote(runner_->failure());
    Reply r = redis.command({"EVAL", kAcquireScript, "1", keys.lease(), options_.node,
                             std::to_string(options_.lease_ttl.count())});
    if (!r || is_error(*r)) {
        error = r ? "lease: " + std::string(text_of(*r)) : redis.error();
        return false;
    }
    const bool held = integer_of(*r) == 1;
    if (held && !source_) {
        Reply head = redis.command({"GET", keys.head()});
        if (!head || is_error(*head)) {
            error = head ? "head: " + std::string(text_of(*head)) : redis.error();
            return false;
        }
        // The head says what the cluster holds; if Redis lost it, what this node has read does.
        const auto skip = std::max<std::uint64_t>(
            static_cast<std::uint64_t>(integer_of(*head).value_or(0)), follower_->newest_n());
        source_ = true;
        runner_->start_source(skip);
    } else if (!held && source_) {
        demote("the source lease passed to another node");
    }
    return true;
}

void ClusterNode::demote(const std::string& why) {
    if (!source_) return;
    spdlog::warn("cluster {}: node {} is no longer the source: {}", options_.name, options_.node,
                 why);
    source_ = false;
    runner_->stop_source();
}

void ClusterNode::lease_loop(std::unique_ptr<RedisConnection> redis) {
    const ClusterKeys keys(options_.name);
    auto backoff = options_.backoff_first;
    while (true) {
        std::string error;
        if (!redis) {
            redis = RedisConnection::open(options_.redis, options_.command_timeout, error);
            // A Redis restarted empty gets the world back from any node.
            if (redis) {
                Reply r = redis->command({"SET", keys.world(), world_json_, "NX"});
                if (!r || is_error(*r)) {
                    error = r ? "world: " + std::string(text_of(*r)) : redis->error();
                    redis.reset();
                }
            }
        }
        if (redis && lease_round(*redis, error)) {
            report(false, true, "");
            backoff = options_.backoff_first;
            if (!wait(options_.lease_round_every())) break;
            continue;
        }
        redis.reset();
        demote("Redis lost: " + error);  // its appends would fail: a successor regenerates them
        report(false, false, error);
        if (!wait(backoff)) break;
        backoff = std::min(backoff * 2, options_.backoff_last);
    }
    runner_->shutdown();
    if (redis && source_)
        redis->command({"EVAL", kReleaseScript, "1", keys.lease(), options_.node});
    source_ = false;
}

void ClusterNode::report(bool follower, bool up, const std::string& reason) {
    std::lock_guard lock(mu_);
    (follower ? follower_down_ : lease_down_) =
        up ? std::string() : (reason.empty() ? "Redis lost" : reason);
    const std::string& down = !follower_down_.empty() ? follower_down_ : lease_down_;
    hub_->backend().set(down.empty(), down.empty() ? (source_ ? "source" : "follower") : down);
}

bool ClusterNode::wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

void ClusterNode::stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (lease_thread_.joinable()) lease_thread_.join();
    if (runner_) runner_->shutdown();
    if (follower_) follower_->stop();
}

}  // namespace streambed::cluster
