// follower.cpp: the cluster's messages into the local hub — read from the streams (the history
// at start, the catch-up after each connection) and pushed on the feed (FollowLoop on an I/O
// thread) — and the thread that connects, subscribes and catches up.
#include "cluster/follower.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "engine/thread_name.hpp"

namespace streambed::cluster {
namespace {

// Entries taken per stream and read: a late node loads a full history in one or two reads.
constexpr const char* kReadCount = "1000";
constexpr int kLoadReads = 16;

template <class T>
std::optional<T> number(std::string_view s) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<Follower::EntryId> parse_id(std::string_view s) {
    const auto dash = s.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto ms = number<std::uint64_t>(s.substr(0, dash));
    auto seq = number<std::uint64_t>(s.substr(dash + 1));
    if (!ms || !seq) return std::nullopt;
    return Follower::EntryId{*ms, *seq};
}

std::string id_text(Follower::EntryId id) {
    return fmt::format("{}-{}", id.ms, id.seq);
}

// An entry's fields as the publish script writes them: n, s, y, t, b.
std::optional<Follower::Entry> decode_fields(const redisReply& fields) {
    if (fields.type != REDIS_REPLY_ARRAY) return std::nullopt;
    Follower::Entry e;
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
            e.bytes = text_of(v);
            has_bytes = true;
        }
    }
    if (e.seq == 0 || !e.type || !has_bytes) return std::nullopt;
    return e;
}

// One entry of a pushed batch as the publish script writes it (cluster_scripts.hpp): lines of
// its stream key, entry id, n, seq, type and time and its bytes' length, then the bytes. Null
// when `rest` does not start with one; otherwise `rest` moves past it.
struct Pushed {
    std::string_view key;
    std::optional<Follower::EntryId> id;
    std::optional<Follower::Entry> entry;  // null: not a message of this version
};
std::optional<Pushed> next_pushed(std::string_view& rest) {
    std::string_view line[7];
    std::string_view at = rest;
    for (auto& l : line) {
        const auto nl = at.find('\n');
        if (nl == std::string_view::npos) return std::nullopt;
        l = at.substr(0, nl);
        at.remove_prefix(nl + 1);
    }
    const auto length = number<std::size_t>(line[6]);
    if (!length || *length > at.size()) return std::nullopt;
    rest = at.substr(*length);
    Pushed p{line[0], parse_id(line[1]), std::nullopt};
    auto n = number<std::uint64_t>(line[2]);
    auto seq = number<std::uint64_t>(line[3]);
    auto type = engine::message_type_from_name(line[4]);
    auto time = number<std::int64_t>(line[5]);
    if (n && seq && *seq != 0 && type && time)
        p.entry = Follower::Entry{*n, *seq, *time, type, at.substr(0, *length)};
    return p;
}

}  // namespace

Follower::Follower(const ClusterOptions& options, engine::Hub& hub, Report report)
    : options_(options),
      hub_(hub),
      report_(std::move(report)),
      own_(hub.ingest_context() ? nullptr : std::make_unique<boost::asio::io_context>(1)),
      ioc_(own_ ? own_.get() : hub.ingest_context()),
      feed_(ClusterKeys(options.name).feed(options.redis.db)) {
    const ClusterKeys keys(options.name);
    for (auto e : engine::kEndpoints)
        for (auto* s : hub.streams_of(e)) {
            by_key_[keys.stream(e, s->channel())] = followed_.size();
            followed_.push_back({keys.stream(e, s->channel()), s->id(), {}});
        }
}

Follower::~Follower() {
    stop();
}

bool Follower::load(RedisConnection& redis, std::string& error) {
    // Until a read brings nothing: every stream's history, then whatever came meanwhile.
    bool got = true;
    for (int reads = 0; got && reads < kLoadReads && !followed_.empty(); ++reads) {
        Reply r = redis.command(xread());
        if (!r || is_error(*r)) {
            error = r ? std::string(text_of(*r)) : redis.error();
            return false;
        }
        got = take_read(*r);
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

void Follower::pause() {
    std::unique_lock lock(mu_);
    if (!thread_.joinable() || paused_) return;
    paused_ = true;
    const std::uint64_t this_pause = ++pauses_;
    if (loop_) loop_->stop();
    cv_.notify_all();
    cv_.wait(lock, [&] { return idle_for_ == this_pause || stopping_; });
}

void Follower::resume() {
    {
        std::lock_guard lock(mu_);
        if (!paused_) return;
        paused_ = false;
    }
    cv_.notify_all();
}

bool Follower::wait(std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return stopping_ || paused_; });
    return !stopping_;
}

bool Follower::sit_out_pause() {
    std::uint64_t sitting_out = 0;
    {
        std::lock_guard lock(mu_);
        sitting_out = pauses_;
    }
    while (true) {
        // What Redis holds now: the source appends after it and serves the rest itself.
        std::string error;
        auto reader = RedisConnection::open(options_.redis, options_.command_timeout, error);
        if (!reader || !load(*reader, error)) {
            spdlog::warn("cluster {}: reading the streams before the source starts: {}",
                         options_.name, error);
        } else if (!up_) {  // read: Redis is there again, though the source serves from now on
            report_(true, "");
            up_ = true;
        }
        // The hub is the source's from here until resume(): the lock hands it over both ways.
        std::unique_lock lock(mu_);
        idle_for_ = sitting_out;
        cv_.notify_all();
        // A resume() and the next pause() may both come before this thread wakes (a source
        // that stopped at once and started again): that pause gets a read of its own.
        cv_.wait(lock, [&] { return !paused_ || stopping_ || pauses_ != sitting_out; });
        idle_for_ = 0;
        if (stopping_) return false;
        if (!paused_) return true;
        sitting_out = pauses_;
    }
}

std::vector<std::string> Follower::xread() const {
    std::vector<std::string> argv{"XREAD", "COUNT", kReadCount, "STREAMS"};
    for (auto& f : followed_) argv.push_back(f.key);
    for (auto& f : followed_) argv.push_back(id_text(f.last));
    return argv;
}

void Follower::take(Followed& f, EntryId id, const std::optional<Entry>& e) {
    f.last = id;
    if (!e) {
        spdlog::warn("cluster {}: {} {}: not a message of this version, skipped", options_.name,
                     f.key, id_text(id));
        return;
    }
    if (hub_.ingest(f.stream, e->seq, *e->type, e->time_ms, std::string(e->bytes)))
        ingested_.fetch_add(1, std::memory_order_relaxed);
    if (e->n > newest_n_.load(std::memory_order_relaxed))
        newest_n_.store(e->n, std::memory_order_release);
}

bool Follower::take_read(const redisReply& r) {
    bool got = false;
    if (r.type != REDIS_REPLY_ARRAY) return got;  // nil: nothing new
    for (std::size_t k = 0; k < r.elements; ++k) {
        const redisReply& stream = *r.element[k];
        if (stream.type != REDIS_REPLY_ARRAY || stream.elements != 2) continue;
        auto it = by_key_.find(text_of(*stream.element[0]));
        if (it == by_key_.end()) continue;
        Followed& f = followed_[it->second];
        const redisReply& entries = *stream.element[1];
        for (std::size_t i = 0; i < entries.elements; ++i) {
            const redisReply& entry = *entries.element[i];
            if (entry.type != REDIS_REPLY_ARRAY || entry.elements != 2) continue;
            auto id = parse_id(text_of(*entry.element[0]));
            if (!id || *id <= f.last) continue;
            got = true;
            take(f, *id, decode_fields(*entry.element[1]));
        }
    }
    return got;
}

void Follower::take_served(engine::StreamId stream, const engine::Message& m) {
    if (hub_.ingest(stream, m.seq, m.type, m.time_ms, m.bytes))
        ingested_.fetch_add(1, std::memory_order_relaxed);
}

void Follower::redis_holds(std::uint64_t n) {
    if (n > newest_n_.load(std::memory_order_relaxed))
        newest_n_.store(n, std::memory_order_release);
}

void Follower::take_push(const redisReply& r) {
    // ["message", channel, payload]; the rest (the subscription's confirmation, PING's
    // ["pong", ""]) carries nothing to take.
    if (r.type != REDIS_REPLY_ARRAY || r.elements != 3 || text_of(*r.element[0]) != "message")
        return;
    std::string_view rest = text_of(*r.element[2]);
    while (!rest.empty()) {
        const auto pushed = next_pushed(rest);
        if (!pushed || !pushed->id) {  // nor can the rest be told apart
            spdlog::warn(
                "cluster {}: a message on {} that is not a batch of stream entries, "
                "skipped",
                options_.name, feed_);
            return;
        }
        auto it = by_key_.find(pushed->key);
        if (it == by_key_.end()) continue;  // a stream this node does not serve
        Followed& f = followed_[it->second];
        if (*pushed->id <= f.last) continue;  // read already, by the catch-up
        take(f, *pushed->id, pushed->entry);
    }
}

std::string Follower::follow_once() {
    std::string error;
    auto subscribed = RedisConnection::open(options_.redis, options_.command_timeout, error);
    if (!subscribed) return error;
    // Subscribed first, then caught up: a message published in between comes both ways and is
    // taken once (its id), never neither way.
    Reply r = subscribed->command({"SUBSCRIBE", feed_});
    if (!r || is_error(*r))
        return r ? "SUBSCRIBE: " + std::string(text_of(*r)) : subscribed->error();
    {
        auto reader = RedisConnection::open(options_.redis, options_.command_timeout, error);
        if (!reader || !load(*reader, error)) return error;
    }
    {
        std::lock_guard lock(mu_);
        if (stopping_ || paused_) return "";
        loop_ended_ = false;
        loop_ = std::make_shared<FollowLoop>(
            *ioc_, std::move(subscribed), options_.follow_quiet,
            [this](const redisReply& reply) { take_push(reply); },
            [this](const std::string& why) {
                std::lock_guard ended(mu_);
                loop_ended_ = true;
                loop_error_ = why;
                cv_.notify_all();
            });
        loop_->start();
    }
    if (!up_) {  // caught up: Redis is there again
        spdlog::info("cluster {}: Redis is back, the node follows again", options_.name);
        report_(true, "");
        up_ = true;
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
    while (true) {
        bool paused = false;
        {
            std::lock_guard lock(mu_);
            if (stopping_) return;
            paused = paused_;
        }
        if (paused && !sit_out_pause()) return;
        const std::string error = follow_once();
        if (error.empty()) continue;  // stopped or paused: the top of the loop says which
        if (up_) {                    // lost after following: the backoff starts again
            spdlog::warn("cluster {}: Redis lost: {}", options_.name, error);
            report_(false, error);
            up_ = false;
            backoff = options_.backoff_first;
        }
        if (!wait(backoff)) return;
        backoff = std::min(backoff * 2, options_.backoff_last);
    }
}

}  // namespace streambed::cluster
