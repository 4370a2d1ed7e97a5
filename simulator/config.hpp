// config.hpp: the simulator's configuration — what the generated world is made of. Together
// with the seed it fixes every data message; pacing (time scale) is kept apart and never
// changes what is generated. Defaults look like the seed platform: 8 channels, 7 validators.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace streambed::simulator {

struct EpisodeRates {                   // probabilities per 2 s state tick
    double validator_offline = 0.004;   // an active validator goes offline for 5–30 ticks
    double validator_jailed = 0.001;    // an active validator is jailed for 5–30 ticks
    double failed_round = 0.03;         // a consensus round fails at propose: round + 1
    double network_degradation = 0.01;  // a degradation episode of 3–12 ticks starts
    double network_partition = 0.002;   // a partition episode of 2–6 ticks starts
};

struct SimConfig {
    std::uint64_t seed = 42;
    std::int64_t epoch_ms = 1762732800000;  // 2025-11-10T00:00:00Z, the spec's example instant
    int channels = 8;                       // ch-1 … ch-N, the spec's default N
    int validators = 7;                     // val-1 … val-M, the spec's default M
    double tx_per_second = 4.0;             // mean Poisson arrival rate per channel
    std::int64_t block_interval_ms = 5000;  // the spec's block cadence
    std::int64_t first_block_ms = 3000;     // the spec's first block, after the epoch
    std::int64_t state_interval_ms = 2000;  // the spec's cadence of every state message
    EpisodeRates episodes;

    // Pacing only: simulated ms per wall ms; <= 0 runs as fast as possible.
    double time_scale = 1.0;
    // Simulated duration after which the source stops; < 0: run until stopped.
    std::int64_t stop_after_ms = -1;
    // Pacing only: the wall-clock Unix ms at which epoch_ms was due (`serve --clock-start`).
    // Unset: the epoch is due when the source starts. Set: the source first publishes, as fast
    // as it can, every event due by the simulated now, then paces — the same world, seqs and
    // clock as a server running since then. Needs a paced time scale.
    std::optional<std::int64_t> clock_start_ms;
};

// A --clock-start further ahead than this is a mistake (seconds for ms, a wrong date), not a
// planned start: a runner starting several servers together picks an instant a little ahead.
constexpr std::int64_t kMaxClockStartAheadMs = 3600'000;
// Catching up more simulated time than this would keep a starting server busy for many
// seconds (about 40 messages per simulated second at the defaults): refused, not attempted.
constexpr std::int64_t kMaxCatchUpMs = 24 * 3600'000;

// A configuration value or file that cannot be used; the message names the field.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Applies the fields of a JSON object to `base`: unknown fields, wrong types and values out of
// range throw ConfigError naming the field.
SimConfig parse_config(std::string_view json_text, SimConfig base = {});
SimConfig load_config(const std::string& path, SimConfig base = {});
// Checks the ranges of every field (also for values set from the command line).
void validate(const SimConfig& config);
// The world-defining fields as canonical JSON (for recordings and reports).
std::string to_json(const SimConfig& config);
// The stream epoch of the world: "sim-" and the xxHash64 of to_json(config) — the seed, the
// epoch and every generation field, not the pacing (time scale, clock start, stop), since a
// seq names the same bytes however the world is paced.
std::string world_epoch(const SimConfig& config);
// Checks clock_start_ms against the wall clock now (Unix ms): not more than
// kMaxClockStartAheadMs ahead, not so far back that catching up exceeds kMaxCatchUpMs of
// simulated time — counted from `held_ms` after the epoch when a checkpoint holds the world
// up to there. Throws ConfigError naming --clock-start.
void validate_clock_start(const SimConfig& config, std::int64_t wall_now_ms,
                          std::int64_t held_ms = 0);

}  // namespace streambed::simulator
