// token_bucket.hpp: the bound on a client's messages (--client-rate per second, bursts of twice
// that). A client over it gets a rate_limited error per message, never a stall.
#pragma once

#include <algorithm>
#include <cstdint>

namespace streambed::engine {

class TokenBucket {
  public:
    TokenBucket(double rate, std::int64_t now_us)
        : rate_(rate), tokens_(rate * 2), last_us_(now_us) {}

    // One message at `now_us` (steady µs): false when over the rate.
    bool take(std::int64_t now_us) {
        const double elapsed = static_cast<double>(now_us - last_us_) / 1e6;
        last_us_ = now_us;
        tokens_ = std::min(rate_ * 2, tokens_ + elapsed * rate_);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

  private:
    double rate_;
    double tokens_;
    std::int64_t last_us_;
};

}  // namespace streambed::engine
