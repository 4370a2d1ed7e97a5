// world_checkpoint_fuzz.cpp: restoring a world from a checkpoint (simulator/world_checkpoint.cpp;
// a cluster reads it back from Redis, which anyone may write) — any text is restored or refused
// with a CheckpointError naming the problem, a refusal leaves the world as it was, and a
// restored world writes back the checkpoint it was given and advances without fault (the
// sanitizers watch its arithmetic).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "simulator/world.hpp"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    engine::DiscardingPublisher out;
    simulator::World world(simulator::SimConfig{}, out);
    const std::string before = world.checkpoint();
    try {
        world.restore(text);
    } catch (const simulator::CheckpointError& e) {
        fuzz::check(*e.what() != '\0', "a CheckpointError without a message", text);
        fuzz::check(world.checkpoint() == before, "a refused checkpoint changed the world", text);
        return 0;
    }
    const std::string restored = world.checkpoint();
    simulator::World again(simulator::SimConfig{}, out);
    again.restore(restored);
    fuzz::check(again.checkpoint() == restored, "a restored world's checkpoint does not round-trip",
                restored);
    for (int i = 0; i < 64; ++i) world.advance();
    return 0;
}
