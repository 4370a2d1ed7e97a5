// follow_rig.hpp: what the FollowLoop and Follower tests share — an io_context on a thread of
// its own, as a shard's is, and a record of what reached it.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace streambed::testing {

// An io_context run by a thread of its own, as a shard's is.
struct IoThread {
    boost::asio::io_context ioc;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
        ioc.get_executor()};
    std::thread thread{[this] { ioc.run(); }};
    ~IoThread() {
        work.reset();
        ioc.stop();
        thread.join();
    }
};

// What a loop handed over (each reply's last element as text), and how it ended.
struct Outcome {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> messages, pongs;
    std::vector<std::thread::id> threads;
    int ends = 0;
    std::string error;

    template <class Pred>
    bool wait(Pred pred) {
        std::unique_lock lock(mu);
        return cv.wait_for(lock, std::chrono::seconds(10), [&] { return pred(*this); });
    }
};

}  // namespace streambed::testing
