// epoch.cpp: naming epochs — a stable hash of a world's identity, or a random one.
#include "engine/epoch.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <random>

namespace streambed::engine {

std::string epoch_of(std::string_view prefix, std::string_view identity) {
    return fmt::format("{}{:016x}", prefix, XXH64(identity.data(), identity.size(), 0));
}

std::string random_epoch(std::string_view prefix) {
    std::random_device rd;
    const std::uint64_t v = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    return fmt::format("{}{:016x}", prefix, v);
}

}  // namespace streambed::engine
