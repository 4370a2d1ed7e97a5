// demo_source.cpp: the demo world and its pacing thread.
//
// The world: N channels whose transactions arrive as a Poisson process and are confirmed by the
// channel's next block (every 5 s, the first at 3 s); M validators whose stake, uptime and status
// drift; a consensus round that moves through its four phases every 2 s with a rotating leader;
// a peer network; and metrics derived from the channels. Every consistency rule of the protocol
// holds. Equal-time events are ordered: transactions, blocks, then the 2 s states.
#include "simulator/demo_source.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "simulator/rng.hpp"

namespace streambed::simulator {
namespace {

using engine::Endpoint;
using engine::MessageType;
using engine::StreamId;

constexpr std::int64_t kStateCadenceMs = 2000;
constexpr std::int64_t kBlockCadenceMs = 5000;
constexpr std::int64_t kFirstBlockMs = 3000;
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

std::string hex64(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
    return fmt::format("{:016x}{:016x}{:016x}{:016x}", a, b, c, d);
}

struct Channel {
    std::string id;
    std::size_t index = 0;
    StreamId updates, txs;  // /ws/channels and /ws/transactions streams
    std::uint64_t height = 0;
    std::uint64_t confirmed = 0;  // transactions in blocks so far
    std::uint64_t pending = 0;    // arrived, waiting for the next block
    std::uint64_t last_block_tx = 0;
    std::uint64_t tx_counter = 0;
    std::string last_hash = std::string(64, '0');
    std::int64_t next_tx_ms = kNever;
    double latency_ms = 40;
};

struct Validator {
    std::string id;
    StreamId stream;
    std::uint64_t stake;
    std::string status = "active";
    int offline_ticks = 0;
    std::uint64_t missed = 0;
    std::uint64_t signed_blocks = 0;
};

class World {
public:
    World(const DemoConfig& c, engine::Publisher& pub) : cfg_(c), pub_(pub), rng_(c.seed) {
        for (int i = 1; i <= c.channels; ++i) {
            Channel ch;
            ch.id = fmt::format("ch-{}", i);
            ch.index = static_cast<std::size_t>(i - 1);
            ch.updates = pub.declare_stream(Endpoint::channels, ch.id);
            ch.txs = pub.declare_stream(Endpoint::transactions, ch.id);
            ch.next_tx_ms = c.epoch_ms + arrival_gap_ms();
            channels_.push_back(std::move(ch));
        }
        for (int i = 1; i <= c.validators; ++i) {
            Validator v;
            v.id = fmt::format("val-{}", i);
            v.stream = pub.declare_stream(Endpoint::validators, v.id);
            v.stake = 1'000'000 + rng_.below(9'000'000);
            validators_.push_back(std::move(v));
        }
        consensus_ = pub.declare_stream(Endpoint::consensus, "consensus");
        network_ = pub.declare_stream(Endpoint::network, "network");
        metrics_ = pub.declare_stream(Endpoint::metrics, "metrics");
        next_block_ms_ = c.epoch_ms + kFirstBlockMs;
        next_state_ms_ = c.epoch_ms + kStateCadenceMs;
    }

    std::int64_t next_event_ms() const {
        std::int64_t t = std::min(next_block_ms_, next_state_ms_);
        for (auto& ch : channels_) t = std::min(t, ch.next_tx_ms);
        return t;
    }

    // Publishes every event due at next_event_ms(), in the fixed order.
    void advance() {
        const std::int64_t t = next_event_ms();
        for (auto& ch : channels_)
            while (ch.next_tx_ms == t) transaction(ch, t);
        if (next_block_ms_ == t) {
            for (auto& ch : channels_) block(ch, t);
            next_block_ms_ += kBlockCadenceMs;
        }
        if (next_state_ms_ == t) {
            states(t);
            next_state_ms_ += kStateCadenceMs;
        }
    }

private:
    std::int64_t arrival_gap_ms() {
        // At least 1 ms apart: arrivals within the same millisecond are merged into the next.
        return std::max<std::int64_t>(1, static_cast<std::int64_t>(rng_.exponential(cfg_.tx_per_second) * 1000.0));
    }

    void transaction(Channel& ch, std::int64_t t) {
        ++ch.pending;
        ++ch.tx_counter;
        const auto id = XXH3_64bits_withSeed(ch.id.data(), ch.id.size(), cfg_.seed ^ ch.tx_counter);
        const double amount = static_cast<double>(1 + rng_.below(5'000'000)) / 100.0;
        const double fee = 0.01 + static_cast<double>(rng_.below(100)) / 1000.0;
        data_ = fmt::format(
            R"({{"id":"0x{:016x}","from":"0x{:016x}{:08x}","to":"0x{:016x}{:08x}","amount":{:.2f},"fee":{:.3f},"blockHeight":{}}})",
            id, rng_.next(), static_cast<std::uint32_t>(rng_.next()), rng_.next(),
            static_cast<std::uint32_t>(rng_.next()), amount, fee, ch.height + 1);
        pub_.publish(ch.txs, MessageType::transaction, t, data_);
        ch.next_tx_ms = t + arrival_gap_ms();
    }

    void block(Channel& ch, std::int64_t t) {
        ++ch.height;
        const std::uint64_t txs = ch.pending;
        ch.pending = 0;
        ch.confirmed += txs;
        ch.last_block_tx = txs;
        const std::string key = fmt::format("{}|{}|{}|{}", ch.id, ch.height, ch.last_hash, txs);
        std::uint64_t h[4];
        for (std::uint64_t i = 0; i < 4; ++i) h[i] = XXH3_64bits_withSeed(key.data(), key.size(), cfg_.seed + i);
        const std::string hash = hex64(h[0], h[1], h[2], h[3]);
        const auto& proposer = validators_[(ch.height + ch.index) % validators_.size()].id;
        data_ = fmt::format(R"({{"height":{},"hash":"{}","parentHash":"{}","txCount":{},"proposer":"{}"}})",
                            ch.height, hash, ch.last_hash, txs, proposer);
        pub_.publish(ch.updates, MessageType::block, t, data_);
        ch.last_hash = hash;
        for (auto& v : validators_) {
            if (v.status == "active") ++v.signed_blocks;
            else ++v.missed;
        }
    }

    void states(std::int64_t t) {
        std::uint64_t tx_total = 0, height_sum = 0;
        double tps_sum = 0;
        for (auto& ch : channels_) {
            ch.latency_ms = std::clamp(ch.latency_ms + rng_.uniform(-5, 5), 10.0, 400.0);
            const double tps = static_cast<double>(ch.last_block_tx) / (kBlockCadenceMs / 1000.0);
            const char* status = ch.latency_ms > 250 ? "degraded" : "active";
            data_ = fmt::format(
                R"({{"blockHeight":{},"txCount":{},"tps":{:.2f},"pendingTx":{},"avgLatencyMs":{:.1f},"status":"{}"}})",
                ch.height, ch.confirmed, tps, ch.pending, ch.latency_ms, status);
            pub_.publish(ch.updates, MessageType::channel_update, t, data_);
            tx_total += ch.confirmed;
            height_sum += ch.height;
            tps_sum += tps;
        }
        std::uint64_t total_stake = 0;
        for (auto& v : validators_) total_stake += v.stake;
        for (auto& v : validators_) {
            if (v.offline_ticks > 0 && --v.offline_ticks == 0) v.status = "active";
            else if (v.status == "active" && rng_.chance(0.005)) {
                v.status = rng_.chance(0.2) ? "jailed" : "offline";
                v.offline_ticks = 5 + static_cast<int>(rng_.below(25));
            }
            v.stake += rng_.below(1000);
            const std::uint64_t blocks = v.signed_blocks + v.missed;
            const double uptime = blocks ? 100.0 * static_cast<double>(v.signed_blocks) / static_cast<double>(blocks) : 100.0;
            data_ = fmt::format(
                R"({{"id":"{}","status":"{}","stake":{},"votingPower":{:.4f},"uptime":{:.2f},"missedBlocks":{}}})",
                v.id, v.status, v.stake, static_cast<double>(v.stake) / static_cast<double>(total_stake),
                uptime, v.missed);
            pub_.publish(v.stream, MessageType::validator_update, t, data_);
        }
        // Consensus: one phase per tick, a new height after commit; a round fails now and then.
        static constexpr const char* kPhases[] = {"propose", "prevote", "precommit", "commit"};
        std::size_t active = 0;
        for (auto& v : validators_) active += v.status == "active";
        const std::size_t quorum = validators_.size() * 2 / 3 + 1;
        if (phase_ == 0 && rng_.chance(0.03)) ++round_;  // the previous round failed: next round
        const auto& leader = validators_[(consensus_height_ + round_) % validators_.size()].id;
        const std::size_t votes = phase_ == 0 ? 0 : active;
        data_ = fmt::format(R"({{"height":{},"round":{},"phase":"{}","leader":"{}","votes":{},"quorum":{}}})",
                            consensus_height_, round_, kPhases[phase_], leader, votes, quorum);
        pub_.publish(consensus_, MessageType::consensus_update, t, data_);
        if (++phase_ == 4) {
            phase_ = 0;
            round_ = 0;
            ++consensus_height_;
        }
        // Network: peers drift; a degradation episode now and then.
        if (degraded_ticks_ > 0) --degraded_ticks_;
        else if (rng_.chance(0.01)) degraded_ticks_ = 3 + static_cast<int>(rng_.below(10));
        peers_ = std::clamp<std::int64_t>(peers_ + static_cast<std::int64_t>(rng_.below(3)) - 1, 8, 64);
        const double latency = (degraded_ticks_ ? 180.0 : 35.0) + rng_.uniform(0, 10);
        data_ = fmt::format(
            R"({{"peers":{},"avgLatencyMs":{:.1f},"inboundKbps":{:.1f},"outboundKbps":{:.1f},"health":"{}"}})",
            peers_, latency, 800 + rng_.uniform(0, 400), 700 + rng_.uniform(0, 400),
            degraded_ticks_ ? "degraded" : "healthy");
        pub_.publish(network_, MessageType::network_status, t, data_);
        data_ = fmt::format(
            R"({{"tps":{:.2f},"txTotal":{},"blockHeight":{},"cpuPercent":{:.1f},"memoryMb":{:.1f}}})",
            tps_sum, tx_total, height_sum, 20 + rng_.uniform(0, 30), 512 + rng_.uniform(0, 64));
        pub_.publish(metrics_, MessageType::metrics, t, data_);
    }

    const DemoConfig cfg_;
    engine::Publisher& pub_;
    Rng rng_;
    std::vector<Channel> channels_;
    std::vector<Validator> validators_;
    StreamId consensus_, network_, metrics_;
    std::int64_t next_block_ms_, next_state_ms_;
    std::uint64_t consensus_height_ = 1;
    std::uint64_t round_ = 0;
    std::size_t phase_ = 0;
    int degraded_ticks_ = 0;
    std::int64_t peers_ = 24;
    std::string data_;  // reused buffer for each message's data
};

}  // namespace

DemoSource::DemoSource(DemoConfig config) : config_(config) {}

DemoSource::~DemoSource() { stop(); }

void DemoSource::start(engine::Publisher& publisher) {
    thread_ = std::thread([this, &publisher] { run(publisher); });
}

void DemoSource::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void DemoSource::run(engine::Publisher& publisher) {
    using namespace std::chrono;
    World world(config_, publisher);
    const auto wall_start = system_clock::now();
    const auto steady_start = steady_clock::now();
    const bool paced = config_.time_scale > 0;
    publisher.set_clock({config_.epoch_ms, duration_cast<microseconds>(wall_start.time_since_epoch()).count(),
                         paced ? config_.time_scale : 0.0});
    sim_time_ = config_.epoch_ms;
    while (true) {
        const std::int64_t t = world.next_event_ms();
        if (config_.stop_after_ms >= 0 && t > config_.epoch_ms + config_.stop_after_ms) break;
        if (paced) {
            // Wall time only paces: the event's due instant on the steady clock.
            const auto due = steady_start + duration_cast<steady_clock::duration>(
                                                duration<double, std::milli>((t - config_.epoch_ms) / config_.time_scale));
            std::unique_lock lock(mu_);
            if (cv_.wait_until(lock, due, [&] { return stopping_; })) return;
        } else {
            std::lock_guard lock(mu_);
            if (stopping_) return;
        }
        world.advance();
        sim_time_ = t;
    }
    finished_ = true;
}

}  // namespace streambed::simulator
