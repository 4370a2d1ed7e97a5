// signals.hpp: SIGINT and SIGTERM, caught from construction until destruction. Install it
// before announcing readiness, so that a signal sent right after is never fatal; later signals
// (a second Ctrl-C during the drain) are absorbed.
#pragma once

#include <memory>

namespace streambed::engine {

class SignalWatcher {
  public:
    SignalWatcher();
    ~SignalWatcher();
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;

    // Blocks until the first SIGINT or SIGTERM (returns at once if one already came).
    void wait();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace streambed::engine
