// world_checkpoint.cpp: a World's state as JSON and back. Every field of WorldData is written
// (nlohmann/json's type macros name them once, for both directions); ids and stream ids are not
// (the configuration makes them), and the shape is checked against the configuration's on
// restore. Doubles are JSON numbers, which nlohmann/json prints with enough digits to read back
// the same double; the generator's words are hex strings (JSON numbers above 2^53 are not safe
// in every reader).
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "simulator/world.hpp"
#include "simulator/world_state.hpp"

namespace streambed::simulator::model {
using json = nlohmann::json;

// What a checkpoint holds of each part: everything but the identities.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Channel, height, confirmed, pending, last_block_tx, tx_counter,
                                   last_hash, next_tx_ms, latency_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Validator, stake, status, away_ticks, missed, signed_blocks)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WorldData, next_block_ms, next_state_ms, consensus_height, round,
                                   phase, round_failed, health, episode_ticks, peers,
                                   network_latency, inbound, outbound, published)

namespace {

// The format's version: a reader refuses another.
constexpr int kCheckpointVersion = 1;

std::uint64_t from_hex(const json& j) {
    const auto& s = j.get_ref<const std::string&>();
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        throw CheckpointError("checkpoint: '" + s + "' is not a hex word");
    return v;
}

// Restores the parts of `have` from `j`, keeping their identities (id, index, stream).
template <class Part>
void restore_parts(const json& j, std::vector<Part>& have) {
    for (std::size_t i = 0; i < have.size(); ++i) {
        Part restored = have[i];
        j.at(i).get_to(restored);
        have[i] = std::move(restored);
    }
}

// A value the model could not have made: out of it, advancing would misbehave (a signed
// overflow, a countdown that never ends), so it is refused by name.
void out_of_range(std::string_view what, double value) {
    throw CheckpointError(fmt::format("checkpoint: {} {} is out of range", what, value));
}

void check_ranges(const WorldData& d, std::int64_t epoch_ms) {
    // A world a century old is not one of ours: its times stay far from overflowing.
    constexpr std::int64_t kMaxSpanMs = 100LL * 365 * 24 * 3600 * 1000;
    const auto time_ok = [&](std::int64_t t) {
        return t >= epoch_ms && t - epoch_ms <= kMaxSpanMs;
    };
    if (!time_ok(d.next_block_ms))
        out_of_range("nextBlockMs", static_cast<double>(d.next_block_ms));
    if (!time_ok(d.next_state_ms))
        out_of_range("nextStateMs", static_cast<double>(d.next_state_ms));
    for (const auto& c : d.channels) {
        // Past the span only when the channel has no arrivals (kNever / 2 ahead): never due.
        if (c.next_tx_ms < epoch_ms)
            out_of_range("a channel's nextTxMs", static_cast<double>(c.next_tx_ms));
        if (!std::isfinite(c.latency_ms)) out_of_range("a channel's latency", c.latency_ms);
    }
    for (const auto& v : d.validators) {
        if (v.status > Status::offline)
            out_of_range("validator status", static_cast<int>(v.status));
        if (v.away_ticks < 0 || v.away_ticks > 30)
            out_of_range("a validator's away ticks", v.away_ticks);
    }
    if (d.health > Health::partitioned) out_of_range("health", static_cast<int>(d.health));
    if (d.phase > 3) out_of_range("phase", static_cast<double>(d.phase));
    if (d.episode_ticks < 0 || d.episode_ticks > 12) out_of_range("episode ticks", d.episode_ticks);
    if (d.peers < 1 || d.peers > 64) out_of_range("peers", static_cast<double>(d.peers));
    for (double x : {d.network_latency, d.inbound, d.outbound})
        if (!std::isfinite(x)) out_of_range("a network rate", x);
}

}  // namespace

std::string write_checkpoint(const WorldData& d, std::string_view epoch) {
    json j = d;
    json rng = json::array();
    for (auto w : d.rng.state()) rng.push_back(fmt::format("{:016x}", w));
    j["checkpoint"] = kCheckpointVersion;
    j["epoch"] = epoch;
    j["rng"] = rng;
    j["channels"] = d.channels;
    j["validators"] = d.validators;
    return j.dump();
}

void read_checkpoint(std::string_view text, std::string_view epoch, std::int64_t epoch_ms,
                     WorldData& data) {
    const auto j = json::parse(text, nullptr, false);
    WorldData d = data;  // filled, then moved in: a failure leaves the world as it was
    try {
        if (!j.is_object() || !j.contains("checkpoint") || j["checkpoint"] != kCheckpointVersion)
            throw CheckpointError(
                fmt::format("not a world checkpoint of version {}", kCheckpointVersion));
        const auto& theirs = j.at("epoch").get_ref<const std::string&>();
        if (theirs != epoch)
            throw CheckpointError(
                fmt::format("the checkpoint is of world {}, not {}", theirs, epoch));
        const auto& rng = j.at("rng");
        Rng::State words{};
        if (!rng.is_array() || rng.size() != words.size())
            throw CheckpointError("checkpoint: rng is not four words");
        for (std::size_t i = 0; i < words.size(); ++i) words[i] = from_hex(rng[i]);
        d.rng.set_state(words);
        const auto& channels = j.at("channels");
        const auto& validators = j.at("validators");
        if (channels.size() != d.channels.size() || validators.size() != d.validators.size())
            throw CheckpointError(fmt::format(
                "the checkpoint has {} channels and {} validators, the configuration {} and {}",
                channels.size(), validators.size(), d.channels.size(), d.validators.size()));
        restore_parts(channels, d.channels);
        restore_parts(validators, d.validators);
        j.get_to(d);
        check_ranges(d, epoch_ms);
    } catch (const json::exception& e) {
        throw CheckpointError(std::string("checkpoint: ") + e.what());
    }
    data = std::move(d);
}

}  // namespace streambed::simulator::model
