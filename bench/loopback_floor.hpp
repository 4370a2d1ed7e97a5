// loopback_floor.hpp: the floor under `streambed bench`'s lateness — the same fan-out done with
// nothing but TCP sockets on loopback: N connections, a message of the same size written to each
// of them at the same interval by as many sender threads as the server has, read by as many
// reader threads as the load client has (epoll and read, no WebSocket, no JSON). What this
// measures is what the machine itself costs; what streambed measures above it is the server's.
// On a shared virtual machine both move with the neighbours, so `bench --floor` measures the
// two back to back.
#pragma once

#include <chrono>
#include <cstddef>

#include "fleet/histogram.hpp"

namespace streambed::bench {

struct FloorOptions {
    std::size_t connections = 1000;
    std::size_t message_bytes = 400;  // at least 8: each message starts with its due instant
    std::chrono::microseconds interval{2'000'000};
    std::size_t rounds = 8;
    unsigned senders = 2;
    unsigned readers = 2;
};

struct FloorResult {
    std::size_t connections = 0;   // opened (fewer than asked when the machine refused some)
    std::uint64_t messages = 0;    // received; rounds x connections when nothing was lost
    fleet::Histogram lateness_us;  // receive time against the instant the round was due
};

// Runs the rounds and returns; throws std::runtime_error when no connection can be opened.
FloorResult measure_floor(const FloorOptions& options);

}  // namespace streambed::bench
