// proxy_state.hpp: what every connection of one proxy shares — options, the upstream address,
// the impairments in force, counters and the log of drawn delays. Private to proxy/.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/impairment.hpp"
#include "proxy/impairment_proxy.hpp"

namespace streambed::proxy {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// The drawn delays per connection key and direction (any thread; a mutex).
class ScheduleLog {
  public:
    static constexpr std::size_t kMaxEntries = 1'000'000;  // 8 MB: ample for a test run or report

    void begin(const std::string& key) {
        std::lock_guard lock(mu_);
        auto& e = entries_[key];
        for (auto& v : e) {
            total_ -= v.size();
            v.clear();
        }
    }
    void record(const std::string& key, Direction d, std::int64_t delay_us) {
        std::lock_guard lock(mu_);
        if (total_ >= kMaxEntries) return;
        entries_[key][d == Direction::upstream ? 0 : 1].push_back(delay_us);
        ++total_;
    }
    std::vector<std::int64_t> get(const std::string& key, Direction d) const {
        std::lock_guard lock(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end()) return {};
        return it->second[d == Direction::upstream ? 0 : 1];
    }

  private:
    mutable std::mutex mu_;
    std::map<std::string, std::array<std::vector<std::int64_t>, 2>> entries_;
    std::size_t total_ = 0;
};

struct ProxyState {
    explicit ProxyState(asio::io_context& c, ProxyOptions o) : io(c), options(std::move(o)) {}

    asio::io_context& io;
    const ProxyOptions options;
    std::vector<tcp::endpoint> upstream;  // resolved once, at start

    // The io thread only:
    std::shared_ptr<const std::vector<Impairment>> impairments =
        std::make_shared<std::vector<Impairment>>();
    bool partition = false;
    std::function<void(std::uint64_t)> forget;  // a connection closed

    // Any thread:
    std::atomic<std::uint64_t> accepted{0}, open{0}, bytes_up{0}, bytes_down{0}, resets{0};
    ScheduleLog schedules;
};

}  // namespace streambed::proxy
