// checkpoint.hpp: the cluster's checkpoint of its world (`{NAME}:checkpoint`): the world's
// state after its n-th message (simulator::World::checkpoint), the newest seq of every stream
// then, and the simulated mark it was taken at. A successor continues from it instead of
// regenerating the world from its epoch (docs/scale-out.md, "Failover").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace streambed::cluster {

struct Checkpoint {
    std::uint64_t n = 0;                        // the world's messages since its epoch
    std::int64_t mark_ms = 0;                   // simulated Unix ms
    std::map<std::string, std::uint64_t> seqs;  // stream key -> its newest seq
    std::string world;                          // simulator::World::checkpoint()

    std::string to_json() const;
    // nullopt, with `error` saying why, when `text` is not a checkpoint.
    static std::optional<Checkpoint> parse(std::string_view text, std::string& error);
};

}  // namespace streambed::cluster
