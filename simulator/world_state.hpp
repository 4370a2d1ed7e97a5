// world_state.hpp: what the World remembers between events — every channel, validator and
// episode, the consensus round, the generator — as plain data, apart from the model that
// advances it (world.cpp), so that a checkpoint (world_checkpoint.cpp) can write and restore
// all of it. Private to the simulator.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "engine/source.hpp"
#include "simulator/rng.hpp"

namespace streambed::simulator::model {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

enum class Health { healthy, degraded, partitioned };
enum class Status { active, jailed, offline };

struct Channel {
    std::string id;
    std::size_t index = 0;
    engine::StreamId updates = 0, txs = 0;  // /ws/channels and /ws/transactions
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
    engine::StreamId stream = 0;
    std::uint64_t stake = 0;
    Status status = Status::active;
    int away_ticks = 0;
    std::uint64_t missed = 0;
    std::uint64_t signed_blocks = 0;
};

// Every field a checkpoint holds, except the ids and stream ids, which the configuration gives.
struct WorldData {
    explicit WorldData(std::uint64_t seed) : rng(seed) {}

    Rng rng;
    std::vector<Channel> channels;
    std::vector<Validator> validators;
    engine::StreamId consensus = 0, network = 0, metrics = 0;
    std::int64_t next_block_ms = 0, next_state_ms = 0;
    std::uint64_t consensus_height = 1, round = 0;
    std::size_t phase = 0;
    bool round_failed = false;
    Health health = Health::healthy;
    int episode_ticks = 0;
    std::int64_t peers = 24;
    double network_latency = 35, inbound = 1000, outbound = 900;
    std::uint64_t published = 0;
};

// The checkpoint of `data` (a world of `epoch`), and its restore into `data`, whose channels and
// validators the configuration already made: throws CheckpointError, leaving `data` unchanged,
// on anything the model could not have made (times before `epoch_ms` or a century after it,
// counters and enums out of their ranges).
std::string write_checkpoint(const WorldData& data, std::string_view epoch);
void read_checkpoint(std::string_view text, std::string_view epoch, std::int64_t epoch_ms,
                     WorldData& data);

}  // namespace streambed::simulator::model
