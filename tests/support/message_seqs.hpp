// message_seqs.hpp: the seqs of a list of messages, the form most stream and subscription
// assertions compare.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/message.hpp"

namespace streambed::testing {

inline std::vector<std::uint64_t> seqs(const std::vector<engine::MessagePtr>& ms) {
    std::vector<std::uint64_t> out;
    out.reserve(ms.size());
    for (const auto& m : ms) out.push_back(m->seq);
    return out;
}

}  // namespace streambed::testing
