// follower.cpp: XREAD over every stream of the cluster, decoding entries into the local hub; the
// thread that (re)connects, and the reads handed to an I/O thread.
#include "cluster/follower.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "engine/thread_name.hpp"

namespace streambed::cluster {
namespace {

// Entries taken per stream and read: a late node loads a full history in one or two reads.
constexpr const char* kReadCount = "1000";
constexpr int kLoadReads = 16;

struct Entry {
    std::uint64_t n = 0, seq = 0;
    std::int64_t time_ms = 0;
    std::optional<engine::MessageType> type;
    std::string bytes;
};

// The fields the publish script writes (cluster_scripts.hpp): n, s, y, t, b.
std::optional<Entry> decode(const redisReply& fields) {
    if (fields.type != REDIS_REPLY_ARRAY) return std::nullopt;
    Entry e;
    bool has_bytes = false;
    for (std::size_t i = 0; i + 1 < fields.elements; i += 2) {
        const auto name = text_of(*fields.element[i]);
        const redisReply& v = *fields.element[i + 1];
        if (name == "n")
            e.n = static_cast<std::uint64_t>(integer_of(v).value_or(0));
        else if (name == "s")
            e.seq = static_cast<std::uint64_t>(integer_of(v).value_or(0));
        else if (name == "t")
            e.time_ms = integer_of(v).value_or(0);
        else if (name == "y")
            e.type = engine::message_type_from_name(text_of(v));
        else if (name == "b") {
            e.bytes = std::string(text_of(v));
            has_bytes = true;
        }
    }
    if (e.seq == 0 || !e.type || !has_bytes) return std::nullopt;
    return e;
}

}  // namespace

Follower::Follower(const ClusterOptions& options, engine::Hub& hub, Report report)
    : options_(options),
      hub_(hub),
      report_(std::move(report)),
      own_(hub.ingest_context() ? nullptr : std::make_unique<boost::asio::io_context>(1)),
      ioc_(own_ ? own_.get() : hub.ingest_context()) {
    const ClusterKeys keys(options.name);
    for (auto e : engine::kEndpoints)
        for (auto* s : hub.streams_of(e)) {
            by_key_[keys.stream(e, s->channel())] = followed_.size();
            followed_.push_back({keys.stream(e, s->channel()), s->id()});
        }
}

Follower::~Follower() {
    stop();
}

bool Follower::load(RedisConnection& redis, std::string& error) {
    // Until a read brings nothing: every stream's history, then whatever came meanwhile. A few
    // reads at most: on a busy cluster the reads that follow take the rest.
    bool got = true;
    for (int reads = 0; got && reads < kLoadReads && !followed_.empty(); ++reads) {
        Reply r = redis.command(xread(std::chrono::milliseconds(-1)));
        if (!r || is_error(*r)) {
            error = r ? std::string(text_of(*r)) : redis.error();
            return false;
        }
        got = take(*r);
    }
    return true;
}

void Follower::start() {
    thread_ = std::thread([this] {
        engine::name_this_thread("redis-follow");
        run();
    });
}

void Follower::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        if (loop_) loop_->stop();
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

bool Follower::wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

std::vector<std::string> Follower::xread(std::chrono::milliseconds block) const {
    std::vector<std::string> argv{"XREAD", "COUNT", kReadCount};
    if (block.count() >= 0) {
        argv.push_back("BLOCK");
        argv.push_back(std::to_string(block.count()));
    }
    argv.push_back("STREAMS");
    for (auto& f : followed_) argv.push_back(f.key);
    for (auto& f : followed_) argv.push_back(f.last_id);
    return argv;
}

bool Follower::take(const redisReply& r) {
    bool got = false;
    if (r.type != REDIS_REPLY_ARRAY) return got;  // nil: nothing new within the block time
    for (std::size_t k = 0; k < r.elements; ++k) {
        const redisReply& stream = *r.element[k];
        if (stream.type != REDIS_REPLY_ARRAY || stream.elements != 2) continue;
        auto it = by_key_.find(std::string(text_of(*stream.element[0])));
        if (it == by_key_.end()) continue;
        Followed& f = followed_[it->second];
        const redisReply& entries = *stream.element[1];
        for (std::size_t i = 0; i < entries.elements; ++i) {
            const redisReply& entry = *entries.element[i];
            if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2) continue;
            f.last_id = std::string(text_of(*entry.element[0]));
            got = true;
            auto e = decode(*entry.element[1]);
            if (!e) {
                spdlog::warn("cluster {}: {} {}: not a message of this version, skipped",
                             options_.name, f.key, f.last_id);
                continue;
            }
            if (hub_.ingest(f.stream, e->seq, *e->type, e->time_ms, std::move(e->bytes)))
                ingested_.fetch_add(1, std::memory_order_relaxed);
            if (e->n > newest_n_.load(std::memory_order_relaxed))
                newest_n_.store(e->n, std::memory_order_release);
        }
    }
    return got;
}

std::string Follower::follow(std::unique_ptr<RedisConnection> redis) {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return "";
        loop_ended_ = false;
        loop_ = std::make_shared<FollowLoop>(
            *ioc_, std::move(redis), options_.read_block + options_.command_timeout,
            [this] { return xread(options_.read_block); },
            [this](const redisReply& reply) { take(reply); },
            [this](const std::string& error) {
                std::lock_guard ended(mu_);
                loop_ended_ = true;
                loop_error_ = error;
                cv_.notify_all();
            });
        loop_->start();
    }
    // The loop's handlers are all this io_context holds: run() returns when it has ended.
    if (own_) {
        own_->restart();
        own_->run();
    }
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return loop_ended_; });
    loop_.reset();
    return loop_error_;
}

void Follower::run() {
    auto backoff = options_.backoff_first;
    bool up = true;
    while (true) {
        std::string error;
        if (auto redis = RedisConnection::open(options_.redis, options_.command_timeout, error)) {
            if (!up) {
                spdlog::info("cluster {}: Redis is back, the node follows again", options_.name);
                report_(true, "");
            }
            up = true;
            backoff = options_.backoff_first;
            error = follow(std::move(redis));
            if (error.empty()) return;  // stopped
        }
        if (up) {
            spdlog::warn("cluster {}: Redis lost: {}", options_.name, error);
            report_(false, error);
        }
        up = false;
        if (!wait(backoff)) return;
        backoff = std::min(backoff * 2, options_.backoff_last);
    }
}

}  // namespace streambed::cluster
