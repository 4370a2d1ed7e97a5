// world.hpp: the simulated blockchain network — channels, blocks, transactions, validators,
// consensus, peers — advanced event by event in simulated time. It publishes each event's
// message through a Publisher; it never reads a clock, so the same seed and configuration
// always produce the same bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "engine/source.hpp"
#include "simulator/config.hpp"

namespace streambed::simulator {

// A checkpoint that cannot be restored into this world; the message says why.
struct CheckpointError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class World {
  public:
    // Declares every stream of the configuration on `publisher`.
    World(const SimConfig& config, engine::Publisher& publisher);
    ~World();
    World(const World&) = delete;
    World& operator=(const World&) = delete;

    // Simulated time of the next event.
    std::int64_t next_event_ms() const;
    // Publishes every event due at next_event_ms(), in a fixed order: transactions (by
    // channel), blocks (by channel), then the states of the tick.
    void advance();
    std::uint64_t messages_published() const;

    // Everything the world remembers between two events, as JSON (world_checkpoint.cpp): a
    // World of the same configuration given it by restore() continues with the very bytes this
    // one publishes next. Taken between two advance() calls.
    std::string checkpoint() const;
    // Throws CheckpointError naming what does not fit: not a checkpoint, another world's epoch,
    // another shape (channels, validators), a field missing or of the wrong type. The world is
    // unchanged then.
    void restore(std::string_view checkpoint);

  private:
    struct State;
    std::unique_ptr<State> s_;
};

}  // namespace streambed::simulator
