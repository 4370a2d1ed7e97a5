// source_publisher.cpp: framing once, and the fenced append of the messages to Redis, written
// in batches (an event's, or a few events') and answered when Redis has answered.
#include "cluster/source_publisher.hpp"

#include <hiredis/hiredis.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "cluster/cluster_scripts.hpp"
#include "cluster/follower.hpp"
#include "cluster/resp_command.hpp"

namespace streambed::cluster {
namespace {

// Appends written and not yet answered before the source gives up (Redis far too slow): about
// 25 minutes of the default world at scale 1, a few MB in the socket and hiredis's buffer. The
// successor regenerates them.
constexpr std::size_t kMaxUnanswered = 65536;

// The publish call's words before its keys (EVALSHA, the script, the count of keys) and its
// fixed keys and arguments (lease, head; node, maxlen, feed); then each message adds its stream
// key and five arguments (n, seq, type, time, bytes).
constexpr std::size_t kCallWords = 8;
constexpr std::size_t kMessageWords = 6;

std::string sha_of(const Reply& r) {
    return r && r->type == REDIS_REPLY_STRING ? std::string(text_of(*r)) : std::string();
}

}  // namespace

SourcePublisher::SourcePublisher(const ClusterOptions& options, std::uint64_t skip,
                                 std::unique_ptr<RedisConnection> redis, const Checkpoint* from,
                                 Follower* serve)
    : options_(options),
      keys_(options.name),
      skip_(skip),
      maxlen_(std::to_string(options.history)),
      feed_(keys_.feed(options.redis.db)),
      redis_(std::move(redis)),
      serve_(serve),
      n_(from ? from->n : 0) {
    if (from) from_seqs_ = from->seqs;
    if (load_scripts() && !redis_->set_nonblocking()) fail("publishing: " + redis_->error());
}

SourcePublisher::~SourcePublisher() {
    drain(options_.command_timeout);
}

bool SourcePublisher::load_scripts() {
    Reply publish = redis_->command({"SCRIPT", "LOAD", kPublishScript});
    Reply checkpoint = publish ? redis_->command({"SCRIPT", "LOAD", kCheckpointScript}) : nullptr;
    publish_sha_ = sha_of(publish);
    checkpoint_sha_ = sha_of(checkpoint);
    if (!publish_sha_.empty() && !checkpoint_sha_.empty()) return true;
    const Reply& bad = !publish || publish_sha_.empty() ? publish : checkpoint;
    fail("loading the publish scripts: " + (bad ? std::string(text_of(*bad)) : redis_->error()));
    return false;
}

engine::StreamId SourcePublisher::declare_stream(engine::Endpoint endpoint,
                                                 std::string_view channel) {
    const engine::StreamId id = staging_.declare_stream(endpoint, channel);
    if (id >= stream_keys_.size()) {
        stream_keys_.resize(id + 1);
        last_seqs_.resize(id + 1);
        served_ids_.resize(id + 1);
    }
    stream_keys_[id] = keys_.stream(endpoint, channel);
    if (serve_) {
        const engine::Stream* served = serve_->hub().find(endpoint, channel);
        if (!served) throw std::logic_error("the node's hub lacks a stream of its world");
        served_ids_[id] = served->id();
    }
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
    // Served before it is written: whatever the node's follower reads later comes after it.
    if (serve_) serve_->take_served(served_ids_[stream], *m);
    resp::add_word(held_keys_, stream_keys_[stream]);
    resp::add_word(held_args_, static_cast<std::int64_t>(n));
    resp::add_word(held_args_, static_cast<std::int64_t>(m->seq));
    resp::add_word(held_args_, engine::name(m->type));
    resp::add_word(held_args_, m->time_ms);
    resp::add_word(held_args_, m->bytes);
    held_last_ = n;
    if (++held_ >= kHoldAtMost) pump();
    if (unanswered_messages_ > kMaxUnanswered)
        fail("Redis is too slow: " + std::to_string(unanswered_messages_) + " appends unanswered");
    return m;
}

bool SourcePublisher::write_held() const {
    if (held_ == 0) return true;
    std::string& c = command_;
    c.clear();
    resp::start_command(c, kCallWords + kMessageWords * held_);
    resp::add_word(c, "EVALSHA");
    resp::add_word(c, publish_sha_);
    resp::add_word(c, static_cast<std::int64_t>(2 + held_));
    resp::add_word(c, keys_.lease());
    resp::add_word(c, keys_.head());
    c += held_keys_;
    resp::add_word(c, options_.node);
    resp::add_word(c, maxlen_);
    resp::add_word(c, feed_);
    c += held_args_;
    const Sent sent{false, held_last_, held_};
    held_keys_.clear();
    held_args_.clear();
    held_ = 0;
    if (!redis_->append_formatted(c)) {
        fail("publishing: " + redis_->error());
        return false;
    }
    unanswered_.push_back(sent);
    unanswered_messages_ += sent.messages;
    return true;
}

void SourcePublisher::save_checkpoint(std::int64_t mark_ms, std::string world) {
    if (failed()) return;
    if (!write_held()) return;  // the checkpoint is kept only after every message before it
    Checkpoint c{n_, mark_ms, {}, std::move(world)};
    for (std::size_t id = 0; id < stream_keys_.size(); ++id)
        c.seqs[stream_keys_[id]] = last_seqs_[id];
    if (!redis_->append({"EVALSHA", checkpoint_sha_, "3", keys_.lease(), keys_.head(),
                         keys_.checkpoint(), options_.node, std::to_string(n_), c.to_json()})) {
        fail("keeping a checkpoint: " + redis_->error());
        return;
    }
    unanswered_.push_back({true, n_, 0});
    pump();
}

engine::Backlog SourcePublisher::backlog() const {
    pump();
    return {failed() ? 0 : unanswered_messages_, 0, 0, 0};
}

void SourcePublisher::idle_at(std::chrono::steady_clock::time_point now,
                              std::chrono::steady_clock::time_point next_due) {
    using std::chrono::duration_cast, std::chrono::microseconds;
    const bool steady_rate =
        rate_.arrive(duration_cast<microseconds>(now.time_since_epoch()).count());
    if (held_ > 0 && steady_rate) {
        if (!gathering_) gathered_since_ = now;
        gathering_ = true;
        const auto until = gathered_since_ + kGather;  // no append waits longer
        if (now < until && next_due < until) return;   // the next event's join these
    }
    const bool read = unanswered_messages_ + held_ >= kReadAfter || now - read_at_ >= kReadEvery;
    if (read) read_at_ = now;
    pump(read);
}

void SourcePublisher::pump(bool read) const {
    gathering_ = false;
    if (failed() || !write_held() || unanswered_.empty()) return;
    // What the socket does not take now goes at the next pump.
    if (redis_->flush() == RedisConnection::Io::failed || (read && !redis_->read_available())) {
        fail("publishing: " + redis_->error());
        return;
    }
    Reply r;
    while (!failed() && !unanswered_.empty()) {
        const auto io = redis_->take(r);
        if (io == RedisConnection::Io::again) return;
        if (io == RedisConnection::Io::failed) {
            fail("publishing: " + redis_->error());
            return;
        }
        take_reply(*r);
    }
}

void SourcePublisher::take_reply(const redisReply& r) const {
    const Sent sent = unanswered_.front();
    unanswered_.pop_front();
    unanswered_messages_ -= sent.messages;
    if (is_error(r)) {
        // NOSCRIPT: Redis restarted without its script cache; the next source loads them again.
        fail("publishing: " + std::string(text_of(r)));
        return;
    }
    const auto answer = integer_of(r);
    if (answer == -1) {
        fail("the source lease passed to another node");
        return;
    }
    if (sent.checkpoint) {
        if (answer == 1) kept_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (!answer || *answer < 0 || static_cast<std::uint64_t>(*answer) > sent.messages) {
        fail("publishing: the script's answer is not a count of at most " +
             std::to_string(sent.messages) + " appends");
        return;
    }
    appended_.fetch_add(static_cast<std::uint64_t>(*answer), std::memory_order_relaxed);
    // Appended, or held by Redis already (not counted): messages a successor skips.
    if (serve_) serve_->redis_holds(sent.n);
}

void SourcePublisher::drain(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (pump(); !failed() && !unanswered_.empty(); pump()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            spdlog::warn("cluster {}: {} appends unanswered within {} ms at the source's stop",
                         options_.name, unanswered_.size(), timeout.count());
            return;
        }
        const auto written = redis_->flush();
        if (written == RedisConnection::Io::failed) continue;  // pump() says why
        const short events = written == RedisConnection::Io::done ? POLLIN : POLLIN | POLLOUT;
        pollfd p{redis_->fd(), events, 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
}

void SourcePublisher::fail(std::string why) const {
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
