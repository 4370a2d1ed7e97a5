// source_publisher.cpp: framing once, and the fenced append of each message to Redis.
#include "cluster/source_publisher.hpp"

#include <spdlog/spdlog.h>

#include "cluster/cluster_scripts.hpp"

namespace streambed::cluster {

SourcePublisher::SourcePublisher(const ClusterOptions& options, std::uint64_t skip,
                                 std::unique_ptr<RedisConnection> redis)
    : options_(options),
      keys_(options.name),
      skip_(skip),
      maxlen_(std::to_string(options.history)),
      redis_(std::move(redis)) {}

engine::StreamId SourcePublisher::declare_stream(engine::Endpoint endpoint,
                                                 std::string_view channel) {
    const engine::StreamId id = staging_.declare_stream(endpoint, channel);
    if (id >= stream_keys_.size()) stream_keys_.resize(id + 1);
    stream_keys_[id] = keys_.stream(endpoint, channel);
    return id;
}

engine::MessagePtr SourcePublisher::publish(engine::StreamId stream, engine::MessageType type,
                                            std::int64_t time_ms, std::string_view data_json) {
    const std::uint64_t n = ++n_;
    engine::MessagePtr m = staging_.publish(stream, type, time_ms, data_json);
    if (n <= skip_ || failed()) return m;
    Reply r = redis_->command({"EVAL", kPublishScript, "3", keys_.lease(), stream_keys_[stream],
                               keys_.head(), options_.node, std::to_string(n), maxlen_,
                               std::to_string(m->seq), std::string(engine::name(type)),
                               std::to_string(time_ms), m->bytes});
    if (!r) {
        fail("publishing: " + redis_->error());
    } else if (is_error(*r)) {
        fail("publishing: " + std::string(text_of(*r)));
    } else if (integer_of(*r) == -1) {
        fail("the source lease passed to another node");
    } else if (integer_of(*r) == 1) {
        appended_.fetch_add(1, std::memory_order_relaxed);
    }
    return m;
}

void SourcePublisher::fail(std::string why) {
    {
        std::lock_guard lock(failure_mu_);
        if (failed()) return;
        failure_ = std::move(why);
    }
    spdlog::warn("cluster {}: the source stops: {}", options_.name, failure());
    failed_.store(true, std::memory_order_release);
}

std::string SourcePublisher::failure() const {
    std::lock_guard lock(failure_mu_);
    return failure_;
}

}  // namespace streambed::cluster
