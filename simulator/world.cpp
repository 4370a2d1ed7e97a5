// world.cpp: the model.
//
// Channels: transactions arrive as a Poisson process (rate txPerSecond per channel); each is
// confirmed by the channel's next block, whose txCount counts them. Blocks come every
// blockIntervalMs from firstBlockMs, each chaining parentHash to the previous hash, proposed
// by an active validator in rotation.
// Validators: stake drifts up; an active validator may go offline or be jailed for 5–30
// ticks (never the last active one); missedBlocks counts blocks produced while not active.
// Consensus: one phase per tick (propose, prevote, precommit, commit) with a leader rotating by
// height and round; a round fails at propose now and then, or whenever the active validators
// fall short of the quorum (2/3 + 1), and the next round starts at propose with the next
// leader: every prevote, precommit and commit carries at least a quorum of votes.
// Network: peers drift; degradation episodes raise latency and cut bandwidth; a partition
// episode drops most peers. Channel status follows: degraded, or halted while partitioned.
// Metrics: derived — tps and totals over channels, CPU from throughput, memory from backlog.
#include "simulator/world.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <string>
#include <vector>

#include "simulator/world_state.hpp"

namespace streambed::simulator {
namespace {

using engine::Endpoint;
using engine::MessageType;
using engine::StreamId;
using namespace model;

constexpr const char* kPhases[] = {"propose", "prevote", "precommit", "commit"};

const char* name(Status s) {
    return s == Status::active ? "active" : s == Status::jailed ? "jailed" : "offline";
}

const char* name(Health h) {
    return h == Health::healthy ? "healthy" : h == Health::degraded ? "degraded" : "partitioned";
}

}  // namespace

struct World::State : WorldData {
    State(const SimConfig& c, engine::Publisher& p) : WorldData(c.seed), cfg(c), pub(p) {}

    const SimConfig cfg;
    engine::Publisher& pub;
    fmt::memory_buffer data;  // reused for every message's data

    // Formats with a compiled format string (FMT_COMPILE): parsed once, at build time.
    template <class Format, class... Args>
    void publish(StreamId stream, MessageType type, std::int64_t t, const Format& f,
                 Args&&... args) {
        data.clear();
        fmt::format_to(fmt::appender(data), f, std::forward<Args>(args)...);
        pub.publish(stream, type, t, std::string_view(data.data(), data.size()));
        ++published;
    }

    std::int64_t arrival_gap_ms() {
        if (cfg.tx_per_second <= 0) return kNever / 2;
        // At least 1 ms apart: arrivals are counted in whole milliseconds.
        const double gap = rng.exponential(cfg.tx_per_second) * 1000.0;
        return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::min(gap, 1e15)));
    }

    std::size_t active_count() const {
        return static_cast<std::size_t>(
            std::count_if(validators.begin(), validators.end(),
                          [](const Validator& v) { return v.status == Status::active; }));
    }

    const Validator& proposer(std::uint64_t turn) const {
        // The turn's validator, or the next active one after it.
        for (std::size_t i = 0; i < validators.size(); ++i) {
            const auto& v = validators[(turn + i) % validators.size()];
            if (v.status == Status::active) return v;
        }
        return validators[turn % validators.size()];
    }

    void transaction(Channel& ch, std::int64_t t) {
        ++ch.pending;
        ++ch.tx_counter;
        std::uint64_t key[3] = {cfg.seed, ch.index, ch.tx_counter};
        const auto id = XXH3_64bits(key, sizeof key);
        const auto from_hi = rng.next(), to_hi = rng.next();
        const auto from_lo = static_cast<std::uint32_t>(rng.next()),
                   to_lo = static_cast<std::uint32_t>(rng.next());
        const double amount = static_cast<double>(1 + rng.below(5'000'000)) / 100.0;
        const double fee = 0.01 + static_cast<double>(rng.below(100)) / 1000.0;
        publish(
            ch.txs, MessageType::transaction, t,
            FMT_COMPILE(
                R"({{"id":"0x{:016x}","from":"0x{:016x}{:08x}","to":"0x{:016x}{:08x}","amount":{:.2f},"fee":{:.3f},"blockHeight":{}}})"),
            id, from_hi, from_lo, to_hi, to_lo, amount, fee, ch.height + 1);
        ch.next_tx_ms = t + arrival_gap_ms();
    }

    void block(Channel& ch, std::int64_t t) {
        ++ch.height;
        const std::uint64_t txs = ch.pending;
        ch.pending = 0;
        ch.confirmed += txs;
        ch.last_block_tx = txs;
        std::uint64_t key[4] = {cfg.seed, ch.index, ch.height, txs};
        const auto parent = XXH3_64bits(ch.last_hash.data(), ch.last_hash.size());
        std::uint64_t h[4];
        for (std::uint64_t i = 0; i < 4; ++i)
            h[i] = XXH3_64bits_withSeed(key, sizeof key, parent + i);
        std::string hash = fmt::format("{:016x}{:016x}{:016x}{:016x}", h[0], h[1], h[2], h[3]);
        publish(
            ch.updates, MessageType::block, t,
            FMT_COMPILE(
                R"({{"height":{},"hash":"{}","parentHash":"{}","txCount":{},"proposer":"{}"}})"),
            ch.height, hash, ch.last_hash, txs, proposer(ch.height + ch.index).id);
        ch.last_hash = std::move(hash);
        for (auto& v : validators) {
            if (v.status == Status::active)
                ++v.signed_blocks;
            else
                ++v.missed;
        }
    }

    void tick(std::int64_t t) {
        network_tick();
        std::uint64_t tx_total = 0, height_sum = 0, pending_sum = 0;
        double tps_sum = 0;
        const double block_s = static_cast<double>(cfg.block_interval_ms) / 1000.0;
        for (auto& ch : channels) {
            const double target = health == Health::healthy    ? 40
                                  : health == Health::degraded ? 180
                                                               : 900;
            ch.latency_ms = std::clamp(
                ch.latency_ms + (target - ch.latency_ms) * 0.3 + rng.uniform(-5, 5), 5.0, 5000.0);
            const double tps = static_cast<double>(ch.last_block_tx) / block_s;
            const char* status = health == Health::partitioned                         ? "halted"
                                 : (health == Health::degraded || ch.latency_ms > 250) ? "degraded"
                                                                                       : "active";
            publish(
                ch.updates, MessageType::channel_update, t,
                FMT_COMPILE(
                    R"({{"blockHeight":{},"txCount":{},"tps":{:.2f},"pendingTx":{},"avgLatencyMs":{:.1f},"status":"{}"}})"),
                ch.height, ch.confirmed, tps, ch.pending, ch.latency_ms, status);
            tx_total += ch.confirmed;
            height_sum += ch.height;
            pending_sum += ch.pending;
            tps_sum += tps;
        }
        validators_tick(t);
        consensus_tick(t);
        publish(
            network, MessageType::network_status, t,
            FMT_COMPILE(
                R"({{"peers":{},"avgLatencyMs":{:.1f},"inboundKbps":{:.1f},"outboundKbps":{:.1f},"health":"{}"}})"),
            peers, network_latency, inbound, outbound, name(health));
        const double cpu = std::min(99.0, 8 + tps_sum * 0.4 + rng.uniform(0, 6));
        const double memory = 480 + static_cast<double>(pending_sum) * 0.05 + rng.uniform(0, 16);
        publish(
            metrics, MessageType::metrics, t,
            FMT_COMPILE(
                R"({{"tps":{:.2f},"txTotal":{},"blockHeight":{},"cpuPercent":{:.1f},"memoryMb":{:.1f}}})"),
            tps_sum, tx_total, height_sum, cpu, memory);
    }

    void network_tick() {
        const auto& e = cfg.episodes;
        if (episode_ticks > 0 && --episode_ticks == 0)
            health = Health::healthy;
        else if (health == Health::healthy) {
            const double u = rng.uniform();
            if (u < e.network_partition) {
                health = Health::partitioned;
                episode_ticks = 2 + static_cast<int>(rng.below(5));
            } else if (u < e.network_partition + e.network_degradation) {
                health = Health::degraded;
                episode_ticks = 3 + static_cast<int>(rng.below(10));
            }
        }
        const std::int64_t target_peers = health == Health::partitioned ? 3 : 24;
        peers = std::clamp<std::int64_t>(
            peers + (target_peers - peers) / 2 + static_cast<std::int64_t>(rng.below(3)) - 1, 1,
            64);
        const double base = health == Health::healthy ? 35 : health == Health::degraded ? 180 : 600;
        network_latency = base + rng.uniform(0, 10);
        const double bw = health == Health::healthy ? 1.0 : health == Health::degraded ? 0.4 : 0.05;
        inbound = (800 + rng.uniform(0, 400)) * bw;
        outbound = (700 + rng.uniform(0, 400)) * bw;
    }

    void validators_tick(std::int64_t t) {
        const auto& e = cfg.episodes;
        std::uint64_t total_stake = 0;
        for (auto& v : validators) {
            if (v.status != Status::active && --v.away_ticks <= 0)
                v.status = Status::active;
            else if (v.status == Status::active && active_count() > 1) {
                const double u = rng.uniform();
                if (u < e.validator_jailed)
                    v.status = Status::jailed;
                else if (u < e.validator_jailed + e.validator_offline)
                    v.status = Status::offline;
                if (v.status != Status::active) v.away_ticks = 5 + static_cast<int>(rng.below(26));
            }
            v.stake += rng.below(1000);
            total_stake += v.stake;
        }
        for (auto& v : validators) {
            const std::uint64_t blocks = v.signed_blocks + v.missed;
            const double uptime =
                blocks ? 100.0 * static_cast<double>(v.signed_blocks) / static_cast<double>(blocks)
                       : 100.0;
            const double power = v.status == Status::active ? static_cast<double>(v.stake) /
                                                                  static_cast<double>(total_stake)
                                                            : 0.0;
            publish(
                v.stream, MessageType::validator_update, t,
                FMT_COMPILE(
                    R"({{"id":"{}","status":"{}","stake":{},"votingPower":{:.4f},"uptime":{:.2f},"missedBlocks":{}}})"),
                v.id, name(v.status), v.stake, power, uptime, v.missed);
        }
    }

    void consensus_tick(std::int64_t t) {
        const std::size_t quorum = validators.size() * 2 / 3 + 1;
        const std::size_t active = active_count();
        if (phase != 0 && active < quorum) {
            phase = 0;  // validators left mid-round: the votes would fall short, the round fails
            round_failed = true;
        }
        if (phase == 0 && round_failed) {
            ++round;  // the next round, with the next leader
            round_failed = false;
        }
        const auto& leader = proposer(consensus_height + round);
        const std::size_t votes = phase == 0 ? 0 : active;
        publish(
            consensus, MessageType::consensus_update, t,
            FMT_COMPILE(
                R"({{"height":{},"round":{},"phase":"{}","leader":"{}","votes":{},"quorum":{}}})"),
            consensus_height, round, kPhases[phase], leader.id, votes, quorum);
        if (phase == 0 && (active < quorum || rng.chance(cfg.episodes.failed_round))) {
            round_failed = true;  // no proposal accepted: stay at propose, next round
            return;
        }
        if (++phase == 4) {
            phase = 0;
            round = 0;
            ++consensus_height;
        }
    }
};

World::World(const SimConfig& config, engine::Publisher& publisher)
    : s_(std::make_unique<State>(config, publisher)) {
    validate(config);
    auto& s = *s_;
    for (int i = 1; i <= config.channels; ++i) {
        Channel ch;
        ch.id = fmt::format("ch-{}", i);
        ch.index = static_cast<std::size_t>(i - 1);
        ch.updates = publisher.declare_stream(Endpoint::channels, ch.id);
        ch.txs = publisher.declare_stream(Endpoint::transactions, ch.id);
        s.channels.push_back(std::move(ch));
    }
    for (int i = 1; i <= config.validators; ++i) {
        Validator v;
        v.id = fmt::format("val-{}", i);
        v.stream = publisher.declare_stream(Endpoint::validators, v.id);
        v.stake = 1'000'000 + s.rng.below(9'000'000);
        s.validators.push_back(std::move(v));
    }
    for (auto& ch : s.channels) ch.next_tx_ms = config.epoch_ms + s.arrival_gap_ms();
    s.consensus = publisher.declare_stream(Endpoint::consensus, "consensus");
    s.network = publisher.declare_stream(Endpoint::network, "network");
    s.metrics = publisher.declare_stream(Endpoint::metrics, "metrics");
    s.next_block_ms = config.epoch_ms + config.first_block_ms;
    s.next_state_ms = config.epoch_ms + config.state_interval_ms;
}

World::~World() = default;

std::int64_t World::next_event_ms() const {
    std::int64_t t = std::min(s_->next_block_ms, s_->next_state_ms);
    for (auto& ch : s_->channels) t = std::min(t, ch.next_tx_ms);
    return t;
}

void World::advance() {
    auto& s = *s_;
    const std::int64_t t = next_event_ms();
    for (auto& ch : s.channels)
        while (ch.next_tx_ms == t) s.transaction(ch, t);
    if (s.next_block_ms == t) {
        for (auto& ch : s.channels) s.block(ch, t);
        s.next_block_ms += s.cfg.block_interval_ms;
    }
    if (s.next_state_ms == t) {
        s.tick(t);
        s.next_state_ms += s.cfg.state_interval_ms;
    }
}

std::uint64_t World::messages_published() const {
    return s_->published;
}

std::string World::checkpoint() const {
    return write_checkpoint(*s_, world_epoch(s_->cfg));
}

void World::restore(std::string_view checkpoint) {
    read_checkpoint(checkpoint, world_epoch(s_->cfg), s_->cfg.epoch_ms, *s_);
}

}  // namespace streambed::simulator
