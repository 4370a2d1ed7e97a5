// source_publisher.cpp: framing once, and the fenced, pipelined append of each message to Redis.
#include "cluster/source_publisher.hpp"

#include <spdlog/spdlog.h>

#include "cluster/cluster_scripts.hpp"
#include "engine/thread_name.hpp"

namespace streambed::cluster {
namespace {

// Appends per round trip: a tick of the default world is about 30 messages; a catch-up burst
// goes in slices of this many.
constexpr std::size_t kPipelineDepth = 256;
// Messages waiting for Redis before the source gives up (Redis far too slow): about 25 minutes
// of the default world at scale 1, a few MB. The successor regenerates them.
constexpr std::size_t kMaxQueued = 65536;

}  // namespace

SourcePublisher::SourcePublisher(const ClusterOptions& options, std::uint64_t skip,
                                 std::unique_ptr<RedisConnection> redis, const Checkpoint* from)
    : options_(options),
      keys_(options.name),
      skip_(skip),
      maxlen_(std::to_string(options.history)),
      feed_(keys_.feed(options.redis.db)),
      redis_(std::move(redis)),
      n_(from ? from->n : 0) {
    if (from) from_seqs_ = from->seqs;
    writer_ = std::thread([this] {
        engine::name_this_thread("redis-append");
        write_loop();
    });
}

SourcePublisher::~SourcePublisher() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    writer_.join();
}

engine::StreamId SourcePublisher::declare_stream(engine::Endpoint endpoint,
                                                 std::string_view channel) {
    const engine::StreamId id = staging_.declare_stream(endpoint, channel);
    if (id >= stream_keys_.size()) {
        stream_keys_.resize(id + 1);
        last_seqs_.resize(id + 1);
    }
    stream_keys_[id] = keys_.stream(endpoint, channel);
    if (from_seqs_) {  // a stream without a message at the checkpoint has none in it
        const auto it = from_seqs_->find(stream_keys_[id]);
        last_seqs_[id] = it == from_seqs_->end() ? 0 : it->second;
        staging_.continue_after(id, last_seqs_[id]);
    }
    return id;
}

engine::MessagePtr SourcePublisher::publish(engine::StreamId stream, engine::MessageType type,
                                            std::int64_t time_ms, std::string_view data_json) {
    const std::uint64_t n = ++n_;
    engine::MessagePtr m = staging_.publish(stream, type, time_ms, data_json);
    last_seqs_[stream] = m->seq;
    if (n <= skip_ || failed()) return m;
    std::size_t queued = 0;
    {
        std::lock_guard lock(mu_);
        queue_.push_back({n, stream, m, {}});
        queued = queue_.size();
    }
    cv_.notify_one();
    if (queued > kMaxQueued)
        fail("Redis is too slow: " + std::to_string(queued) + " messages wait");
    return m;
}

void SourcePublisher::save_checkpoint(std::int64_t mark_ms, std::string world) {
    if (failed()) return;
    Checkpoint c{n_, mark_ms, {}, std::move(world)};
    for (std::size_t id = 0; id < stream_keys_.size(); ++id)
        c.seqs[stream_keys_[id]] = last_seqs_[id];
    {
        std::lock_guard lock(mu_);
        queue_.push_back({n_, 0, nullptr, c.to_json()});
    }
    cv_.notify_one();
}

engine::Backlog SourcePublisher::backlog() const {
    std::lock_guard lock(mu_);
    return {queue_.size(), 0, 0, 0};
}

void SourcePublisher::write_loop() {
    std::vector<Pending> batch;
    while (true) {
        batch.clear();
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty() || (stopping_ && failed())) return;
            while (!queue_.empty() && batch.size() < kPipelineDepth) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        if (failed()) continue;  // dropped: the successor regenerates them
        std::size_t sent = 0;
        for (const auto& p : batch) {
            const bool sent_one =
                p.message
                    ? redis_->append({"EVAL", kPublishScript, "3", keys_.lease(),
                                      stream_keys_[p.stream], keys_.head(), options_.node,
                                      std::to_string(p.n), maxlen_, std::to_string(p.message->seq),
                                      std::string(engine::name(p.message->type)),
                                      std::to_string(p.message->time_ms), p.message->bytes, feed_})
                    : redis_->append({"EVAL", kCheckpointScript, "3", keys_.lease(), keys_.head(),
                                      keys_.checkpoint(), options_.node, std::to_string(p.n),
                                      p.checkpoint});
            if (!sent_one) break;
            ++sent;
        }
        for (std::size_t i = 0; i < sent && !failed(); ++i) {
            Reply r = redis_->next_reply();
            if (!r) {
                fail("publishing: " + redis_->error());
            } else if (is_error(*r)) {
                fail("publishing: " + std::string(text_of(*r)));
            } else if (integer_of(*r) == -1) {
                fail("the source lease passed to another node");
            } else if (integer_of(*r) == 1) {
                (batch[i].message ? appended_ : kept_).fetch_add(1, std::memory_order_relaxed);
            }
        }
        if (sent < batch.size() && !failed()) fail("publishing: " + redis_->error());
    }
}

void SourcePublisher::fail(std::string why) {
    {
        std::lock_guard lock(mu_);
        if (failed()) return;
        failure_ = std::move(why);
        failed_.store(true, std::memory_order_release);
    }
    spdlog::warn("cluster {}: the source stops: {}", options_.name, failure());
}

std::string SourcePublisher::failure() const {
    std::lock_guard lock(mu_);
    return failure_;
}

}  // namespace streambed::cluster
