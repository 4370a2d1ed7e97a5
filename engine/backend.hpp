// backend.hpp: the health of a shared backend the hub depends on (a cluster's Redis). While it
// is down, /q/health reports it with the reason and upgrades are refused with 503; connections
// already open stay. Set from the backend's own thread, read from the I/O threads.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

namespace streambed::engine {

class BackendHealth {
  public:
    struct Status {
        std::string name;  // the health check's name ("redis")
        bool up = true;
        std::string reason;  // why it is down; what it is doing when up ("source", "follower")
    };

    // Declares the backend: from now on health carries its check.
    void attach(std::string name) {
        std::lock_guard lock(mu_);
        status_.name = std::move(name);
        attached_ = true;
    }
    void set(bool up, std::string reason) {
        std::lock_guard lock(mu_);
        status_.up = up;
        status_.reason = std::move(reason);
        down_.store(!up, std::memory_order_release);
    }
    // nullopt without a backend (a single server).
    std::optional<Status> status() const {
        std::lock_guard lock(mu_);
        if (!attached_) return std::nullopt;
        return status_;
    }
    // The upgrade gate's question, without a lock.
    bool down() const { return down_.load(std::memory_order_acquire); }

  private:
    mutable std::mutex mu_;
    bool attached_ = false;
    Status status_;
    std::atomic<bool> down_{false};
};

}  // namespace streambed::engine
