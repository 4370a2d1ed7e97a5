// world_checkpoint.cpp: a World's state as JSON and back. Every field of WorldData is written;
// ids and stream ids are not (the configuration makes them), and the shape is checked against
// the configuration's on restore. Doubles are written as JSON numbers, which nlohmann/json
// prints with enough digits to read back the same double; the generator's words as hex strings
// (JSON numbers above 2^53 are not safe in every reader).
#include <fmt/format.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "simulator/world.hpp"
#include "simulator/world_state.hpp"

namespace streambed::simulator::model {
using json = nlohmann::json;

namespace {

// The format's version: a reader refuses another.
constexpr int kCheckpointVersion = 1;

std::string hex(std::uint64_t v) {
    return fmt::format("{:016x}", v);
}

std::uint64_t from_hex(const json& j) {
    const auto& s = j.get_ref<const std::string&>();
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        throw CheckpointError("checkpoint: '" + s + "' is not a hex word");
    return v;
}

template <class Enum>
Enum enum_of(const json& j, Enum last) {
    const int v = j.get<int>();
    if (v < 0 || v > static_cast<int>(last))
        throw CheckpointError(fmt::format("checkpoint: {} is out of range", v));
    return static_cast<Enum>(v);
}

}  // namespace

std::string write_checkpoint(const WorldData& d, std::string_view epoch) {
    json rng = json::array();
    for (auto w : d.rng.state()) rng.push_back(hex(w));
    json channels = json::array();
    for (const auto& c : d.channels)
        channels.push_back({{"height", c.height},
                            {"confirmed", c.confirmed},
                            {"pending", c.pending},
                            {"lastBlockTx", c.last_block_tx},
                            {"txCounter", c.tx_counter},
                            {"lastHash", c.last_hash},
                            {"nextTxMs", c.next_tx_ms},
                            {"latencyMs", c.latency_ms}});
    json validators = json::array();
    for (const auto& v : d.validators)
        validators.push_back({{"stake", v.stake},
                              {"status", static_cast<int>(v.status)},
                              {"awayTicks", v.away_ticks},
                              {"missed", v.missed},
                              {"signedBlocks", v.signed_blocks}});
    const json j{{"checkpoint", kCheckpointVersion},
                 {"epoch", epoch},
                 {"published", d.published},
                 {"rng", rng},
                 {"nextBlockMs", d.next_block_ms},
                 {"nextStateMs", d.next_state_ms},
                 {"consensusHeight", d.consensus_height},
                 {"round", d.round},
                 {"phase", d.phase},
                 {"roundFailed", d.round_failed},
                 {"health", static_cast<int>(d.health)},
                 {"episodeTicks", d.episode_ticks},
                 {"peers", d.peers},
                 {"networkLatency", d.network_latency},
                 {"inbound", d.inbound},
                 {"outbound", d.outbound},
                 {"channels", channels},
                 {"validators", validators}};
    return j.dump();
}

void read_checkpoint(std::string_view text, std::string_view epoch, WorldData& data) {
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
        for (std::size_t i = 0; i < d.channels.size(); ++i) {
            const auto& c = channels.at(i);
            auto& ch = d.channels[i];
            c.at("height").get_to(ch.height);
            c.at("confirmed").get_to(ch.confirmed);
            c.at("pending").get_to(ch.pending);
            c.at("lastBlockTx").get_to(ch.last_block_tx);
            c.at("txCounter").get_to(ch.tx_counter);
            c.at("lastHash").get_to(ch.last_hash);
            c.at("nextTxMs").get_to(ch.next_tx_ms);
            c.at("latencyMs").get_to(ch.latency_ms);
        }
        for (std::size_t i = 0; i < d.validators.size(); ++i) {
            const auto& v = validators.at(i);
            auto& val = d.validators[i];
            v.at("stake").get_to(val.stake);
            val.status = enum_of(v.at("status"), Status::offline);
            v.at("awayTicks").get_to(val.away_ticks);
            v.at("missed").get_to(val.missed);
            v.at("signedBlocks").get_to(val.signed_blocks);
        }
        j.at("published").get_to(d.published);
        j.at("nextBlockMs").get_to(d.next_block_ms);
        j.at("nextStateMs").get_to(d.next_state_ms);
        j.at("consensusHeight").get_to(d.consensus_height);
        j.at("round").get_to(d.round);
        j.at("phase").get_to(d.phase);
        if (d.phase > 3) throw CheckpointError("checkpoint: phase is out of range");
        j.at("roundFailed").get_to(d.round_failed);
        d.health = enum_of(j.at("health"), Health::partitioned);
        j.at("episodeTicks").get_to(d.episode_ticks);
        j.at("peers").get_to(d.peers);
        j.at("networkLatency").get_to(d.network_latency);
        j.at("inbound").get_to(d.inbound);
        j.at("outbound").get_to(d.outbound);
    } catch (const json::exception& e) {
        throw CheckpointError(std::string("checkpoint: ") + e.what());
    }
    data = std::move(d);
}

}  // namespace streambed::simulator::model
