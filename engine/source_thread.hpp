// source_thread.hpp: the thread a Source publishes from, and its pacing — sleep until an
// event's due instant unless the source is being stopped. Shared by the simulator and replay.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "engine/thread_name.hpp"

namespace streambed::engine {

class SourceThread {
  public:
    ~SourceThread() { stop(); }

    void start(std::function<void()> body) {
        thread_ = std::thread([body = std::move(body)] {
            name_this_thread("source");
            body();
        });
    }

    // Asks the body to end (the next wait returns false) and joins. Idempotent.
    void stop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    }

    // Waits until `due`; false when the source is stopping and the body should return.
    bool wait_until(std::chrono::steady_clock::time_point due) {
        std::unique_lock lock(mu_);
        return !cv_.wait_until(lock, due, [&] { return stopping_; });
    }
    // The unpaced form: false when the source is stopping.
    bool running() {
        std::lock_guard lock(mu_);
        return !stopping_;
    }

  private:
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
};

}  // namespace streambed::engine
