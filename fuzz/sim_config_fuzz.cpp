// sim_config_fuzz.cpp: the simulator's configuration parser (simulator/config.hpp, `--config
// FILE.json`) — any text is a configuration or a ConfigError naming the problem; an accepted
// one survives its canonical JSON unchanged (the world's epoch is the hash of that JSON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "simulator/config.hpp"

using namespace streambed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    simulator::SimConfig config;
    try {
        config = simulator::parse_config(text);
    } catch (const simulator::ConfigError& e) {
        fuzz::check(*e.what() != '\0', "a ConfigError without a message", text);
        return 0;
    }
    const auto canonical = simulator::to_json(config);
    simulator::SimConfig again;
    try {
        again = simulator::parse_config(canonical);
    } catch (const simulator::ConfigError& e) {
        fuzz::fail("an accepted configuration's canonical JSON is refused",
                   canonical + "\n" + e.what());
    }
    fuzz::check(simulator::to_json(again) == canonical, "the canonical JSON does not round-trip",
                canonical);
    return 0;
}
