// source_runner.cpp: the thread that starts (catching up) and stops the cluster's source.
#include "cluster/source_runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "cluster/follower.hpp"
#include "cluster/source_publisher.hpp"
#include "engine/thread_name.hpp"
#include "simulator/simulator_source.hpp"
#include "simulator/world.hpp"

namespace streambed::cluster {

SourceRunner::SourceRunner(const ClusterOptions& options, simulator::SimConfig world,
                           Follower* follower)
    : options_(options), world_(std::move(world)), follower_(follower) {
    thread_ = std::thread([this] {
        engine::name_this_thread("cluster-source");
        run();
    });
}

SourceRunner::~SourceRunner() {
    shutdown();
}

void SourceRunner::start_source(std::uint64_t skip) {
    enqueue(skip);
}
void SourceRunner::stop_source() {
    enqueue(std::nullopt);
}

void SourceRunner::enqueue(std::optional<std::uint64_t> start) {
    std::lock_guard lock(mu_);
    if (quit_) return;
    commands_.push_back(start);
    ++queued_;
    cv_.notify_all();
}

bool SourceRunner::wait_done(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return done_ >= queued_ || quit_; });
}

bool SourceRunner::failed() const {
    std::lock_guard lock(mu_);
    return !start_failure_.empty() || (publisher_ && publisher_->failed());
}

std::string SourceRunner::failure() const {
    std::lock_guard lock(mu_);
    if (!start_failure_.empty()) return start_failure_;
    return publisher_ ? publisher_->failure() : std::string();
}

void SourceRunner::shutdown() {
    {
        std::lock_guard lock(mu_);
        quit_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    do_stop(false);  // the follower stops next
}

void SourceRunner::run() {
    while (true) {
        std::optional<std::uint64_t> command;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return quit_ || !commands_.empty(); });
            if (quit_) return;
            command = commands_.front();
            commands_.pop_front();
        }
        do_stop(!command);  // a start replaces the source; a stop only stops it
        if (command) do_start(*command);
        {
            std::lock_guard lock(mu_);
            ++done_;
        }
        cv_.notify_all();
    }
}

void SourceRunner::do_start(std::uint64_t skip) {
    std::string error;
    auto redis = RedisConnection::open(options_.redis, options_.command_timeout, error);
    if (!redis) {
        std::lock_guard lock(mu_);
        start_failure_ = "starting the source: " + error;
        return;
    }
    const auto from = usable_checkpoint(*redis, skip);
    if (follower_ && !follower_paused_) {
        follower_->pause();  // it reads what Redis holds first
        follower_paused_ = true;
    }
    auto publisher = std::make_unique<SourcePublisher>(options_, skip, std::move(redis),
                                                       from ? &*from : nullptr, follower_);
    auto source = std::make_unique<simulator::SimulatorSource>(world_);
    source->set_checkpoints({from ? from->world : std::string(), options_.checkpoint_every.count(),
                             [p = publisher.get()](std::int64_t mark_ms, std::string world) {
                                 p->save_checkpoint(mark_ms, std::move(world));
                             }});
    {
        std::lock_guard lock(mu_);
        start_failure_.clear();
        publisher_ = std::move(publisher);
    }
    try {
        source->start(*publisher_);  // catches up: regenerates the world, appends after `skip`
    } catch (const std::exception& e) {
        std::lock_guard lock(mu_);
        start_failure_ = std::string("starting the source: ") + e.what();
        return;
    }
    source_ = std::move(source);
    spdlog::info(
        "cluster {}: node {} is the source, continuing the world after message {} ({} appended); "
        "{}",
        options_.name, options_.node, skip, publisher_->appended(),
        from ? fmt::format("from the checkpoint at message {} (simulated {} s after the epoch)",
                           from->n, (from->mark_ms - world_.epoch_ms) / 1000)
             : std::string("from the epoch"));
}

std::optional<Checkpoint> SourceRunner::usable_checkpoint(RedisConnection& redis,
                                                          std::uint64_t skip) const {
    Reply r = redis.command({"GET", ClusterKeys(options_.name).checkpoint()});
    if (!r || is_error(*r) || is_nil(*r)) return std::nullopt;  // none yet, or Redis lost it
    std::string why;
    auto c = Checkpoint::parse(text_of(*r), why);
    if (c && c->n > skip)
        why = fmt::format("it is at message {}, the cluster holds {}", c->n, skip);
    if (c && why.empty()) {
        try {
            engine::DiscardingPublisher probe;
            simulator::World world(world_, probe);
            world.restore(c->world);
            if (world.messages_published() != c->n)
                why = fmt::format("its world is at message {}, not {}", world.messages_published(),
                                  c->n);
        } catch (const simulator::CheckpointError& e) {
            why = e.what();
        }
    }
    if (why.empty()) return c;
    spdlog::warn(
        "cluster {}: the checkpoint is not usable ({}): the world is regenerated from its "
        "epoch",
        options_.name, why);
    return std::nullopt;
}

void SourceRunner::do_stop(bool follow_again) {
    if (source_) {
        source_->stop();
        spdlog::info(
            "cluster {}: node {} stopped its source ({} messages appended, {} checkpoints kept)",
            options_.name, options_.node, publisher_->appended(), publisher_->checkpoints_kept());
    }
    source_.reset();
    std::unique_ptr<SourcePublisher> old;
    {
        std::lock_guard lock(mu_);
        old = std::move(publisher_);
        start_failure_.clear();  // reported already: the next start is judged on its own
    }
    old.reset();  // waits for its last replies: outside the lock, which the lease rounds read
    if (follow_again && follower_paused_) {
        follower_->resume();  // after the source's last message: the follower ingests after it
        follower_paused_ = false;
    }
}

}  // namespace streambed::cluster
