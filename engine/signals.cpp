// signals.cpp: an Asio signal_set on a thread of its own.
#include "engine/signals.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>

namespace streambed::engine {

struct SignalWatcher::Impl {
    boost::asio::io_context ioc{1};
    boost::asio::signal_set signals{ioc, SIGINT, SIGTERM};
    std::thread thread;
    std::mutex mu;
    std::condition_variable cv;
    bool signalled = false;

    void arm() {
        signals.async_wait([this](boost::system::error_code ec, int) {
            if (ec) return;
            {
                std::lock_guard lock(mu);
                signalled = true;
            }
            cv.notify_all();
            arm();  // absorb any further signal until destruction
        });
    }
};

SignalWatcher::SignalWatcher() : impl_(std::make_unique<Impl>()) {
    impl_->arm();
    impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

SignalWatcher::~SignalWatcher() {
    impl_->ioc.stop();
    impl_->thread.join();
}

void SignalWatcher::wait() {
    std::unique_lock lock(impl_->mu);
    impl_->cv.wait(lock, [&] { return impl_->signalled; });
}

}  // namespace streambed::engine
