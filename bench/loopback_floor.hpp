// loopback_floor.hpp: the floor under `streambed bench`'s lateness — the same fan-out with no
// server in it. A bare writer on loopback answers the upgrade and the welcome, then writes one
// pre-framed message of the run's size to every connection at the run's interval, from as many
// threads as the server has (plain blocking sends, no queue, no JSON encoding). The clients
// reading it are the load client's own (the fleet, as many threads), so the floor holds what the
// machine and the instrument cost, and what `bench` measures above it is the server's. On a
// shared virtual machine both move with the neighbours, so `bench --floor` measures the two
// back to back.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "fleet/histogram.hpp"

namespace streambed::bench {

struct FloorOptions {
    std::size_t connections = 1000;
    std::size_t message_bytes = 400;  // the JSON message, padded to this size
    std::chrono::microseconds interval{2'000'000};
    std::size_t rounds = 8;
    unsigned senders = 2;
    unsigned readers = 2;  // the load client's threads
    // What the clients ask for, as in the run: the floor accepts any of it and writes the same.
    std::string endpoint = "/ws/channels";
    std::vector<std::string> subscribe;
};

struct FloorResult {
    std::size_t connections = 0;   // welcomed (fewer than asked when the machine refused some)
    std::uint64_t messages = 0;    // received; rounds x connections when nothing was lost
    fleet::Histogram lateness_us;  // receive time against the instant the round was due
};

// Runs the rounds and returns; throws std::runtime_error when it cannot listen or no
// connection was welcomed.
FloorResult measure_floor(const FloorOptions& options);

}  // namespace streambed::bench
