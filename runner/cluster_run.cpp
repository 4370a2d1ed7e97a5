// cluster_run.cpp: starting and stopping the cluster's processes, its timeline events, and the
// health sampler's facts (the source, failovers, Redis DOWN).
#include "runner/cluster_run.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <future>

#include "bench/server_process.hpp"

namespace streambed::runner {

using json = nlohmann::json;

namespace {
// How often the nodes' health is read: the resolution of failover_max.
constexpr std::chrono::milliseconds kSampleEvery{100};
// A report holds at most this many facts (a flapping node must not grow it without bound).
constexpr std::size_t kMaxFacts = 200;
}  // namespace

ClusterRun::ClusterRun(const Scenario& s, std::vector<std::string> serve_args, ServerFactory start,
                       std::string redis_program)
    : s_(s),
      serve_args_(std::move(serve_args)),
      start_(std::move(start)),
      redis_program_(std::move(redis_program)),
      // A name of its own per run: the keys of two runs never meet, whatever Redis they share.
      name_(fmt::format("{}-{}", s.name.substr(0, 40), ::getpid())),
      up_(new std::atomic<bool>[s.cluster->nodes]) {
    for (std::size_t i = 0; i < s.cluster->nodes; ++i) up_[i] = false;
    last_.assign(s.cluster->nodes, NodeHealth::State::unreachable);
}

ClusterRun::~ClusterRun() {
    stop();
}

std::vector<std::string> ClusterRun::node_args(std::size_t node) const {
    auto args = serve_args_;
    args.insert(
        args.end(),
        {"--redis", fmt::format("redis://127.0.0.1:{}", proxies_[node]->port()), "--cluster", name_,
         "--lease-ttl", fmt::format("{}ms", s_.cluster->lease_ttl.count()), "--checkpoint-every",
         fmt::format("{}ms", s_.cluster->checkpoint_every.count())});
    return args;
}

void ClusterRun::start() {
    redis_ = std::make_unique<RedisProcess>(redis_program_);
    redis_port_ = redis_->port();
    const std::size_t n = s_.cluster->nodes;
    for (std::size_t i = 0; i < n; ++i) {
        proxy::ProxyOptions po;
        po.upstream_port = redis_->port();
        po.seed = 0x5eed + i;
        proxies_.push_back(std::make_unique<proxy::ImpairmentProxy>(po));
        proxies_.back()->start();
    }
    nodes_.resize(n);
    ports_.assign(n, 0);
    // One after the other, from this thread: a node dies with the thread that started it
    // (STREAMBED_EXIT_WITH_PARENT is PR_SET_PDEATHSIG, which follows the thread).
    for (std::size_t i = 0; i < n; ++i) start_node(i);
    sampler_ = std::thread([this] { sample_loop(); });
}

void ClusterRun::start_node(std::size_t node) {
    try {
        nodes_[node] = start_(node_args(node), ports_[node]);
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("node {}: {}", node, e.what()));
    }
    // A node started again takes its port back: ports_ is written before the sampler starts.
    if (ports_[node] == 0) ports_[node] = nodes_[node]->port();
    up_[node] = true;
}

void ClusterRun::set_clock(Clock::time_point start, double time_scale) {
    scale_ = time_scale;
    origin_ns_ =
        std::chrono::duration_cast<std::chrono::nanoseconds>(start.time_since_epoch()).count();
}

double ClusterRun::sim_seconds() const {
    const auto origin = origin_ns_.load();
    if (origin == 0) return 0;
    const auto now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
            .count();
    return std::max(0.0, static_cast<double>(now - origin) / 1e9 * scale_.load());
}

void ClusterRun::fact(const std::string& text) {
    if (facts_.size() < kMaxFacts) facts_.push_back(fmt::format("{:.1f}s {}", sim_seconds(), text));
}

int ClusterRun::find_source() {
    const auto deadline = Clock::now() + std::chrono::seconds(2);
    do {
        for (std::size_t i = 0; i < nodes_.size(); ++i)
            if (up_[i] && read_node_health(ports_[i], std::chrono::milliseconds(300)).state ==
                              NodeHealth::State::source)
                return static_cast<int>(i);
        std::unique_lock lock(mu_);
        if (cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; })) break;
    } while (Clock::now() < deadline);
    return -1;
}

int ClusterRun::resolve(int node) {
    if (node != Event::kNodeSource) return node;
    const int found = find_source();
    if (found < 0) {
        std::lock_guard lock(mu_);
        fact("no node reports itself the source: the event names none");
    }
    return found;
}

void ClusterRun::note_loss(std::size_t node, const std::string& how, bool source) {
    std::lock_guard lock(mu_);
    source = source || source_ == static_cast<int>(node);
    fact(fmt::format("node {} {}{}", node, how, source ? " (the source)" : ""));
    if (!source) return;
    source_ = -1;
    source_lost_ = Clock::now();
    lost_node_ = static_cast<int>(node);
}

void ClusterRun::node_down(std::size_t node, bool kill, bool source) {
    if (!up_[node]) return;
    note_loss(node, kill ? "killed (SIGKILL)" : "stopped (SIGTERM)", source);
    up_[node] = false;
    if (kill)
        nodes_[node]->kill();
    else
        nodes_[node]->stop();
    nodes_[node].reset();
}

std::vector<TimedAction> ClusterRun::steps(const std::vector<Event>& timeline,
                                           std::vector<Window>& windows) {
    std::vector<TimedAction> plan;
    const auto end = s_.duration.count();
    for (const auto& e : timeline) {
        const auto at = e.at.count();
        const std::string who =
            e.node == Event::kNodeSource ? std::string("the source") : fmt::format("{}", e.node);
        // The node an event acts on, once known (a "source" is resolved when the event comes).
        auto chosen = std::make_shared<int>(-1);
        switch (e.kind) {
            case Event::Kind::node_kill:
            case Event::Kind::node_restart: {
                const bool kill = e.kind == Event::Kind::node_kill;
                const auto back = e.stays_down ? end : at + e.down_for.count();
                windows.push_back({at, back, kill ? "node_kill" : "node_restart", "",
                                   fmt::format("node {} {}", who, kill ? "killed" : "restarted")});
                plan.push_back({at, [this, chosen, kill, node = e.node] {
                                    *chosen = resolve(node);
                                    if (*chosen >= 0)
                                        node_down(*chosen, kill, node == Event::kNodeSource);
                                }});
                if (!e.stays_down)
                    plan.push_back({back, [this, chosen] {
                                        if (*chosen < 0 || up_[*chosen]) return;
                                        start_node(*chosen);
                                        std::lock_guard lock(mu_);
                                        fact(fmt::format("node {} started again", *chosen));
                                    }});
                break;
            }
            case Event::Kind::redis_partition: {
                const auto until = at + e.duration.count();
                windows.push_back({at, until, "redis_partition", "",
                                   fmt::format("node {} cut off from Redis", who)});
                plan.push_back({at, [this, chosen, node = e.node] {
                                    *chosen = resolve(node);
                                    if (*chosen < 0) return;
                                    note_loss(*chosen, "cut off from Redis",
                                              node == Event::kNodeSource);
                                    proxies_[*chosen]->set_partition(true);
                                }});
                plan.push_back({until, [this, chosen] {
                                    if (*chosen < 0) return;
                                    proxies_[*chosen]->set_partition(false);
                                    std::lock_guard lock(mu_);
                                    fact(fmt::format("node {} reaches Redis again", *chosen));
                                }});
                break;
            }
            case Event::Kind::redis_kill: {
                const auto back = at + e.down_for.count();
                windows.push_back({at, back, "redis_kill", "", "Redis killed"});
                plan.push_back({at, [this] {
                                    redis_->kill();
                                    std::lock_guard lock(mu_);
                                    fact("Redis killed (SIGKILL)");
                                }});
                plan.push_back({back, [this] {
                                    redis_->start();
                                    std::lock_guard lock(mu_);
                                    fact("Redis started again (empty)");
                                }});
                break;
            }
            default:
                break;
        }
    }
    return plan;
}

void ClusterRun::sample_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        lock.unlock();
        std::vector<NodeHealth> seen(ports_.size());
        for (std::size_t i = 0; i < ports_.size(); ++i)
            if (up_[i]) seen[i] = read_node_health(ports_[i], std::chrono::milliseconds(300));
        lock.lock();
        for (std::size_t i = 0; i < seen.size(); ++i) {
            const auto state = seen[i].state;
            if (state == NodeHealth::State::down) down_seen_.insert(i);
            if (state != last_[i] && state != NodeHealth::State::unreachable &&
                (state != NodeHealth::State::follower || last_[i] == NodeHealth::State::down))
                fact(fmt::format("node {} {}{}", i,
                                 state == NodeHealth::State::down     ? "reports Redis DOWN"
                                 : state == NodeHealth::State::source ? "is the source"
                                                                      : "reports Redis UP",
                                 seen[i].reason.empty() ? "" : ": " + seen[i].reason));
            last_[i] = state;
            if (state != NodeHealth::State::source) continue;
            if (source_lost_ && static_cast<int>(i) != lost_node_) {
                const double ms =
                    std::chrono::duration<double, std::milli>(Clock::now() - *source_lost_).count();
                failover_max_ms_ = std::max(failover_max_ms_.value_or(0.0), ms);
                failovers_.push_back({{"at_s", sim_seconds()},
                                      {"from", lost_node_},
                                      {"to", i},
                                      {"after_ms", std::round(ms)}});
                fact(fmt::format("failover: node {} took over from node {} after {:.2f} s", i,
                                 lost_node_, ms / 1000.0));
                source_lost_.reset();
            }
            if (!source_lost_ || static_cast<int>(i) != lost_node_) source_ = static_cast<int>(i);
        }
        cv_.wait_for(lock, kSampleEvery, [&] { return stopping_; });
    }
}

void ClusterRun::lift_partitions() {
    for (auto& p : proxies_) p->set_partition(false);
}

std::vector<std::uint16_t> ClusterRun::live_ports() const {
    std::vector<std::uint16_t> out;
    for (std::size_t i = 0; i < ports_.size(); ++i)
        if (up_[i]) out.push_back(ports_[i]);
    return out;
}

double ClusterRun::peak_rss_mb() const {
    double mb = 0;
    for (const auto& n : nodes_)
        if (n && n->pid() > 0)
            mb = std::max(mb, static_cast<double>(bench::peak_resident_bytes(n->pid())) / 1e6);
    return mb;
}

std::optional<double> ClusterRun::failover_max_ms() const {
    std::lock_guard lock(mu_);
    return failover_max_ms_;
}

std::size_t ClusterRun::nodes_down_seen() const {
    std::lock_guard lock(mu_);
    return down_seen_.size();
}

json ClusterRun::report() const {
    std::lock_guard lock(mu_);
    return json{
        {"name", name_},
        {"nodes", ports_.size()},
        {"ports", ports_},
        {"redis_port", redis_port_},
        {"lease_ttl_ms", s_.cluster->lease_ttl.count()},
        {"checkpoint_every_ms", s_.cluster->checkpoint_every.count()},
        {"failovers", failovers_},
        {"failover_max_ms", failover_max_ms_ ? json(std::round(*failover_max_ms_)) : json(nullptr)},
        {"nodes_down_seen", std::vector<std::size_t>(down_seen_.begin(), down_seen_.end())},
        {"facts", facts_}};
}

void ClusterRun::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (sampler_.joinable()) sampler_.join();
    // All at once: a node's clean shutdown (lease released, threads joined) takes a second or
    // two, and each waits only for its own process.
    std::vector<std::future<void>> stopped;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        up_[i] = false;
        if (nodes_[i])
            stopped.push_back(std::async(std::launch::async, [n = nodes_[i].get()] { n->stop(); }));
    }
    for (auto& f : stopped) f.wait();
    for (auto& n : nodes_) n.reset();
    for (auto& p : proxies_)
        if (p) p->stop();
    redis_.reset();
}

}  // namespace streambed::runner
