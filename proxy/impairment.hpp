// impairment.hpp: one named network impairment ("toxic") of the proxy, and its JSON form.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace streambed::proxy {

enum class Direction { upstream, downstream, both };  // upstream = client→server bytes

struct Impairment {    // one named impairment ("toxic"), like toxiproxy's
    std::string name;  // unique; adding a name again replaces it
    Direction direction = Direction::both;
    std::chrono::microseconds latency{0},
        jitter{0};         // each unit delayed latency ± jitter (uniform), order kept
    double bandwidth = 0;  // bytes per second, 0 = no cap
    bool stall = false;    // black hole: nothing forwarded (bytes are held, bounded; TCP
                           // back-pressure upstream of it)
    bool reset =
        false;  // reset (RST, SO_LINGER 0) every connection it applies to, at once and on arrival
    std::size_t slice = 0;                     // forward in pieces of at most this many bytes ...
    std::chrono::microseconds slice_delay{0};  // ... with this pause between pieces
    std::uint64_t limit_data =
        0;  // close the connection after this many bytes in the direction, 0 = none
    std::uint64_t drop_after_frames =
        0;                    // WebSocket-aware: reset after N server→client frames, 0 = none
    std::string hold_stream;  // WebSocket-aware: hold back server→client data frames whose
                              // "channel" is this, until removed

    // Whether it acts on bytes flowing in `d` (upstream or downstream).
    bool applies_to(Direction d) const { return direction == Direction::both || direction == d; }
};

nlohmann::json to_json(const Impairment&);
// Parses the JSON form (durations as "100ms"/"2s", bandwidth as a number of bytes/s or "100KB/s");
// on a bad field returns an error naming the field (errors as values, no throw).
std::optional<Impairment> impairment_from_json(const nlohmann::json&, std::string& error);

// "upstream", "downstream", "both".
std::string_view to_string(Direction);
std::optional<Direction> parse_direction(std::string_view);
// "250us", "100ms", "2s", "1m", "1.5s"; a bare number is milliseconds. nullopt when malformed.
std::optional<std::chrono::microseconds> parse_duration_us(std::string_view);
// "100KB/s" (KB = 1000 bytes, KiB = 1024; B, KB, KiB, MB, MiB, GB, GiB), or a bare number of
// bytes/s.
std::optional<double> parse_bandwidth(std::string_view);
// A duration as the JSON form writes it: "100ms", "2s" or "1500us".
std::string format_duration(std::chrono::microseconds);

}  // namespace streambed::proxy
