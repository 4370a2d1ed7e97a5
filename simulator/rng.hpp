// rng.hpp: the project's own seeded generator and distributions. The standard library's
// distributions differ between implementations; these give the same numbers everywhere.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace streambed::simulator {

// splitmix64: expands a seed into well-mixed state words.
inline std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// xoshiro256** (Blackman and Vigna): fast, small, and a fixed algorithm.
class Rng {
  public:
    using State = std::array<std::uint64_t, 4>;
    explicit Rng(std::uint64_t seed) {
        for (auto& w : s_) w = splitmix64(seed);
    }
    // The whole state: a generator given it back continues with the same numbers.
    State state() const { return s_; }
    void set_state(const State& s) { s_ = s; }

    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1), 53 bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; the tiny bias is irrelevant here).
    std::uint64_t below(std::uint64_t n) {
        __extension__ using u128 = unsigned __int128;
        return static_cast<std::uint64_t>((static_cast<u128>(next()) * n) >> 64);
    }
    bool chance(double p) { return uniform() < p; }
    // Exponential with the given rate (events per unit): the gaps of a Poisson process.
    double exponential(double rate) { return -std::log1p(-uniform()) / rate; }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    State s_;
};

}  // namespace streambed::simulator
