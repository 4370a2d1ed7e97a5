// config.cpp: strict parsing and validation of simulator configurations.
#include "simulator/config.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/clock.hpp"
#include "engine/epoch.hpp"

namespace streambed::simulator {
using ojson = nlohmann::ordered_json;

namespace {

template <class T>
void read_int(const ojson& j, const char* field, T& out, std::int64_t lo, std::int64_t hi) {
    if (!j.is_number_integer())
        throw ConfigError(fmt::format("'{}' must be an integer between {} and {}", field, lo, hi));
    const auto v = j.get<std::int64_t>();
    if (v < lo || v > hi)
        throw ConfigError(fmt::format("'{}' must be between {} and {}, not {}", field, lo, hi, v));
    out = static_cast<T>(v);
}

void read_number(const ojson& j, const char* field, double& out, double lo, double hi) {
    if (!j.is_number())
        throw ConfigError(fmt::format("'{}' must be a number between {} and {}", field, lo, hi));
    const double v = j.get<double>();
    if (!(v >= lo && v <= hi))
        throw ConfigError(fmt::format("'{}' must be between {} and {}, not {}", field, lo, hi, v));
    out = v;
}

void check(bool ok, const std::string& message) {
    if (!ok) throw ConfigError(message);
}

}  // namespace

void validate(const SimConfig& c) {
    check(c.channels >= 1 && c.channels <= 1000, "'channels' must be between 1 and 1000");
    check(c.validators >= 1 && c.validators <= 1000, "'validators' must be between 1 and 1000");
    check(c.tx_per_second >= 0 && c.tx_per_second <= 100000,
          "'txPerSecond' must be between 0 and 100000");
    check(c.block_interval_ms >= 100 && c.block_interval_ms <= 3600000,
          "'blockIntervalMs' must be between 100 and 3600000");
    check(c.first_block_ms >= 1 && c.first_block_ms <= 3600000,
          "'firstBlockMs' must be between 1 and 3600000");
    check(c.state_interval_ms >= 100 && c.state_interval_ms <= 3600000,
          "'stateIntervalMs' must be between 100 and 3600000");
    check(c.epoch_ms >= 0, "'epochMs' must not be negative");
    check(!c.clock_start_ms || *c.clock_start_ms >= 0,
          "--clock-start must be a Unix time in ms, not negative");
    check(!c.clock_start_ms || c.time_scale > 0,
          "--clock-start needs a paced --time-scale, not max");
}

void validate_clock_start(const SimConfig& c, std::int64_t wall_now_ms, std::int64_t held_ms) {
    validate(c);
    if (!c.clock_start_ms) return;
    const std::int64_t start = *c.clock_start_ms;
    if (start > wall_now_ms + kMaxClockStartAheadMs)
        throw ConfigError(fmt::format(
            "--clock-start {} is {} s in the future (at most {} s ahead; Unix ms expected)", start,
            (start - wall_now_ms) / 1000, kMaxClockStartAheadMs / 1000));
    const double behind_sim_ms = engine::sim_span_ms(c.time_scale, (wall_now_ms - start) * 1000);
    const double span =
        (c.stop_after_ms >= 0 ? std::min(behind_sim_ms, static_cast<double>(c.stop_after_ms))
                              : behind_sim_ms) -
        static_cast<double>(held_ms);
    if (span > static_cast<double>(kMaxCatchUpMs))
        throw ConfigError(fmt::format(
            "--clock-start {} is too far back: catching up {:.0f} simulated hours, at most {}",
            start, span / 3600'000.0, kMaxCatchUpMs / 3600'000));
}

SimConfig parse_config(std::string_view text, SimConfig c) {
    ojson j = ojson::parse(text, nullptr, false);
    if (j.is_discarded()) throw ConfigError("the configuration is not valid JSON");
    if (!j.is_object()) throw ConfigError("the configuration must be a JSON object");
    for (const auto& [key, v] : j.items()) {
        if (key == "seed") {
            check(v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0),
                  "'seed' must be a non-negative integer");
            c.seed = v.get<std::uint64_t>();
        } else if (key == "epochMs")
            read_int(v, "epochMs", c.epoch_ms, 0, 253402300799999);
        else if (key == "channels")
            read_int(v, "channels", c.channels, 1, 1000);
        else if (key == "validators")
            read_int(v, "validators", c.validators, 1, 1000);
        else if (key == "txPerSecond")
            read_number(v, "txPerSecond", c.tx_per_second, 0, 100000);
        else if (key == "blockIntervalMs")
            read_int(v, "blockIntervalMs", c.block_interval_ms, 100, 3600000);
        else if (key == "firstBlockMs")
            read_int(v, "firstBlockMs", c.first_block_ms, 1, 3600000);
        else if (key == "stateIntervalMs")
            read_int(v, "stateIntervalMs", c.state_interval_ms, 100, 3600000);
        else if (key == "episodes") {
            check(v.is_object(), "'episodes' must be an object");
            auto& e = c.episodes;
            for (const auto& [name, p] : v.items()) {
                const std::string field = "episodes." + name;
                double* target = name == "validatorOffline"     ? &e.validator_offline
                                 : name == "validatorJailed"    ? &e.validator_jailed
                                 : name == "failedRound"        ? &e.failed_round
                                 : name == "networkDegradation" ? &e.network_degradation
                                 : name == "networkPartition"   ? &e.network_partition
                                                                : nullptr;
                if (!target) throw ConfigError("unknown field '" + field + "'");
                read_number(p, field.c_str(), *target, 0, 1);
            }
        } else {
            throw ConfigError("unknown field '" + key + "'");
        }
    }
    validate(c);
    return c;
}

SimConfig load_config(const std::string& path, SimConfig base) {
    std::ifstream in(path);
    if (!in) throw ConfigError("cannot read configuration file '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return parse_config(ss.str(), base);
    } catch (const ConfigError& e) {
        throw ConfigError(path + ": " + e.what());
    }
}

std::string to_json(const SimConfig& c) {
    ojson j = {{"seed", c.seed},
               {"epochMs", c.epoch_ms},
               {"channels", c.channels},
               {"validators", c.validators},
               {"txPerSecond", c.tx_per_second},
               {"blockIntervalMs", c.block_interval_ms},
               {"firstBlockMs", c.first_block_ms},
               {"stateIntervalMs", c.state_interval_ms},
               {"episodes",
                {{"validatorOffline", c.episodes.validator_offline},
                 {"validatorJailed", c.episodes.validator_jailed},
                 {"failedRound", c.episodes.failed_round},
                 {"networkDegradation", c.episodes.network_degradation},
                 {"networkPartition", c.episodes.network_partition}}}};
    return j.dump();
}

std::string world_epoch(const SimConfig& config) {
    return engine::epoch_of("sim-", to_json(config));
}

}  // namespace streambed::simulator
