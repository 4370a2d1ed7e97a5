// fleet.cpp: the fleet's threads — each runs one io_context with its share of the clients —
// and the controls the runner calls from its own thread, posted to the clients' threads.
#include "fleet/fleet.hpp"

#include <boost/asio/post.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "fleet/client.hpp"

namespace streambed::fleet {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Fleet::Impl {
    FleetOptions options;
    std::vector<ClientGroup> groups;
    std::vector<std::vector<Address>> targets;  // per group: the servers its clients may use
    std::shared_ptr<asio::ssl::context> tls;    // when a target is TLS; shared by every thread
    std::vector<std::unique_ptr<ThreadContext>> threads;
    // clients[thread][group]: each client lives on one thread for the whole run.
    std::vector<std::vector<std::vector<std::shared_ptr<Client>>>> clients;
    std::vector<std::atomic<std::int64_t>> connected;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    std::vector<std::thread> workers;
    Clock::time_point start;
    bool started = false, stopped = false;

    // Runs `fn(thread, clients of the group on it)` on every thread and waits for all of them.
    template <typename Fn>
    void on_each(std::size_t group, Fn fn) {
        std::vector<std::future<void>> done;
        for (std::size_t t = 0; t < threads.size(); ++t) {
            auto task = std::make_shared<std::packaged_task<void()>>(
                [this, t, group, fn] { fn(*threads[t], clients[t][group]); });
            done.push_back(task->get_future());
            asio::post(threads[t]->ioc, [task] { (*task)(); });
        }
        for (auto& f : done) f.get();
    }
};

namespace {
std::vector<std::vector<Address>> one_each(const std::vector<Address>& targets) {
    std::vector<std::vector<Address>> out;
    for (const auto& a : targets) out.push_back({a});
    return out;
}
}  // namespace

Fleet::Fleet(FleetOptions options, std::vector<ClientGroup> groups, std::vector<Address> targets)
    : Fleet(std::move(options), std::move(groups), one_each(targets)) {}

Fleet::Fleet(FleetOptions options, std::vector<ClientGroup> groups,
             std::vector<std::vector<Address>> routes)
    : impl_(std::make_unique<Impl>()) {
    if (routes.size() != groups.size()) throw std::invalid_argument("one route per client group");
    for (const auto& r : routes)
        if (r.empty()) throw std::invalid_argument("a group without a server to connect to");
    impl_->options = std::move(options);
    impl_->groups = std::move(groups);
    impl_->targets = std::move(routes);
    impl_->connected = std::vector<std::atomic<std::int64_t>>(impl_->groups.size());
}

Fleet::~Fleet() {
    stop();
}

void Fleet::start() {
    auto& m = *impl_;
    // Resolve every target first: a name that does not resolve is the caller's error.
    std::vector<std::vector<Destination>> destinations(m.targets.size());
    {
        asio::io_context resolve_ctx;
        tcp::resolver resolver(resolve_ctx);
        for (std::size_t g = 0; g < m.targets.size(); ++g)
            for (const auto& a : m.targets[g]) {
                boost::system::error_code ec;
                auto r = resolver.resolve(a.host, std::to_string(a.port), ec);
                if (ec || r.empty())
                    throw std::runtime_error("cannot resolve '" + a.host + "': " + ec.message());
                destinations[g].push_back({*r.begin(), a.host, a.tls});
                if (a.tls && !m.tls) {
                    std::string error;
                    m.tls = make_tls_context(m.options.tls, error);
                    if (!m.tls) throw std::runtime_error(error);
                }
            }
    }
    const unsigned n = std::max(1u, m.options.threads);
    m.start = Clock::now();
    const double scale = m.options.time_scale > 0 ? m.options.time_scale : 1.0;
    for (unsigned t = 0; t < n; ++t) {
        auto ctx = std::make_unique<ThreadContext>();
        ctx->options = &m.options;
        ctx->scale = scale;
        ctx->start = m.start;
        ctx->totals.resize(m.groups.size());
        ctx->connected = &m.connected;
        ctx->tls = m.tls.get();
        m.threads.push_back(std::move(ctx));
    }
    m.clients.assign(n, std::vector<std::vector<std::shared_ptr<Client>>>(m.groups.size()));
    std::size_t spread = 0;  // clients of unpinned groups so far: the round-robin's position
    for (std::size_t g = 0; g < m.groups.size(); ++g)
        for (std::size_t i = 0; i < m.groups[g].clients; ++i) {
            const std::size_t t = i % n;
            const int pin = m.groups[g].node;
            const std::size_t first = pin >= 0 ? static_cast<std::size_t>(pin) : spread++;
            m.clients[t][g].push_back(std::make_shared<Client>(
                *m.threads[t], g, m.groups[g], i, destinations[g], first, m.options.seed));
        }
    for (auto& ctx : m.threads) m.guards.push_back(asio::make_work_guard(ctx->ioc));
    for (auto& ctx : m.threads) m.workers.emplace_back([c = ctx.get()] { c->ioc.run(); });
    m.started = true;
    for (std::size_t g = 0; g < m.groups.size(); ++g)
        if (m.groups[g].starts_joined) join(g);
}

void Fleet::join(std::size_t group) {
    const auto& spec = impl_->groups.at(group);
    impl_->on_each(group, [&spec](ThreadContext& ctx, auto& clients) {
        // Client i of the group starts at i/N of the ramp-up (indices interleave over threads).
        const auto ramp = ctx.wall(spec.ramp_up);
        for (auto& c : clients)
            c->begin(std::chrono::duration_cast<Clock::duration>(
                ramp * static_cast<double>(c->index()) / static_cast<double>(spec.clients)));
    });
}

void Fleet::leave(std::size_t group) {
    impl_->on_each(group, [](ThreadContext&, auto& clients) {
        for (auto& c : clients) c->leave();
    });
}

void Fleet::churn(std::size_t group, double fraction) {
    const std::size_t n = impl_->groups.at(group).clients;
    const auto chosen = static_cast<std::size_t>(fraction * static_cast<double>(n) + 0.5);
    impl_->on_each(group, [chosen](ThreadContext&, auto& clients) {
        for (auto& c : clients)
            if (c->index() < chosen) c->churn();
    });
}

void Fleet::drop(std::size_t group) {
    impl_->on_each(group, [](ThreadContext&, auto& clients) {
        for (auto& c : clients) c->drop();
    });
}

std::size_t Fleet::connected(std::size_t group) const {
    return static_cast<std::size_t>(
        std::max<std::int64_t>(0, impl_->connected.at(group).load(std::memory_order_relaxed)));
}

std::size_t Fleet::connected() const {
    std::size_t sum = 0;
    for (std::size_t g = 0; g < impl_->groups.size(); ++g) sum += connected(g);
    return sum;
}

bool Fleet::caught_up(const FinalSeqs& finals) {
    std::atomic<bool> all{true};
    for (std::size_t g = 0; g < impl_->groups.size(); ++g) {
        const auto& spec = impl_->groups[g];
        // Readers too slow to ever catch up, and misbehaving clients, are not waited for.
        const auto mode = spec.reading.mode;
        if (mode == Reading::Mode::slow || mode == Reading::Mode::never ||
            spec.misbehave.kind != Misbehaviour::Kind::none)
            continue;
        impl_->on_each(g, [&](ThreadContext&, auto& clients) {
            for (auto& c : clients)
                if (!c->caught_up(finals)) all = false;
        });
    }
    return all;
}

void Fleet::stop() {
    auto& m = *impl_;
    if (!m.started || m.stopped) return;
    m.stopped = true;
    for (std::size_t g = 0; g < m.groups.size(); ++g)
        m.on_each(g, [](ThreadContext&, auto& clients) {
            for (auto& c : clients) c->leave(/*by_event=*/false);
        });
    // The close handshakes get a moment; then every socket goes with its client.
    for (auto& g : m.guards) g.reset();
    for (auto& ctx : m.threads)
        asio::post(ctx->ioc, [c = ctx.get()] {
            auto t = std::make_shared<asio::steady_timer>(c->ioc, std::chrono::milliseconds(200));
            t->async_wait([c, t](boost::system::error_code) { c->ioc.stop(); });
        });
    for (auto& w : m.workers) w.join();
}

FleetResult Fleet::result(const FinalSeqs& finals) {
    auto& m = *impl_;
    FleetResult r;
    r.groups.resize(m.groups.size());
    for (std::size_t t = 0; t < m.threads.size(); ++t) {
        auto& ctx = *m.threads[t];
        for (std::size_t g = 0; g < m.groups.size(); ++g) {
            r.groups[g].merge(ctx.totals[g]);
            for (auto& c : m.clients[t][g]) c->add_counts(r.groups[g], finals);
        }
        if (r.buckets.size() < ctx.buckets.size()) r.buckets.resize(ctx.buckets.size());
        for (std::size_t b = 0; b < ctx.buckets.size(); ++b) {
            r.buckets[b].messages += ctx.buckets[b].messages;
            r.buckets[b].lateness_us.merge(ctx.buckets[b].lateness_us);
        }
    }
    return r;
}

std::vector<GroupTotals> Fleet::totals() {
    auto& m = *impl_;
    std::vector<GroupTotals> out(m.groups.size());
    std::mutex mu;
    m.on_each(0, [&](ThreadContext& ctx, auto&) {
        std::lock_guard lock(mu);
        for (std::size_t g = 0; g < out.size(); ++g) out[g].merge(ctx.totals[g]);
    });
    return out;
}

Fleet::Live Fleet::live() {
    auto& m = *impl_;
    Live out;
    Histogram current;
    std::mutex mu;
    m.on_each(0, [&](ThreadContext& ctx, auto&) {
        std::uint64_t n = 0;
        for (const auto& t : ctx.totals) n += t.messages;
        Bucket* b = ctx.bucket_now();
        std::lock_guard lock(mu);
        out.messages += n;
        if (b) current.merge(b->lateness_us);
    });
    out.p99_us = current.percentile(99);
    return out;
}

std::int64_t Fleet::sim_elapsed_ms() const {
    const double scale = impl_->options.time_scale > 0 ? impl_->options.time_scale : 1.0;
    return static_cast<std::int64_t>(
        std::chrono::duration<double, std::milli>(Clock::now() - impl_->start).count() * scale);
}

void GroupTotals::merge(const GroupTotals& o) {
    messages += o.messages;
    polled += o.polled;
    snapshots_ignored += o.snapshots_ignored;
    conflated += o.conflated;
    seqs.distinct += o.seqs.distinct;
    seqs.duplicates += o.seqs.duplicates;
    seqs.gaps += o.seqs.gaps;
    seqs.conflated += o.seqs.conflated;
    seqs.declared += o.seqs.declared;
    seqs.expected += o.seqs.expected;
    resets += o.resets;
    errors += o.errors;
    connects += o.connects;
    reconnects += o.reconnects;
    refused += o.refused;
    failed += o.failed;
    dead += o.dead;
    lost += o.lost;
    frames += o.frames;
    bytes += o.bytes;
    for (const auto& [code, n] : o.closes) closes[code] += n;
    for (const auto& [why, n] : o.reasons) reasons[why] += n;
    lateness_us.merge(o.lateness_us);
    reconnect_us.merge(o.reconnect_us);
}

GroupTotals GroupTotals::since(const GroupTotals& e) const {
    GroupTotals d;
    d.messages = messages - e.messages;
    d.frames = frames - e.frames;
    d.bytes = bytes - e.bytes;
    d.polled = polled - e.polled;
    d.snapshots_ignored = snapshots_ignored - e.snapshots_ignored;
    d.conflated = conflated - e.conflated;
    d.resets = resets - e.resets;
    d.errors = errors - e.errors;
    d.connects = connects - e.connects;
    d.reconnects = reconnects - e.reconnects;
    d.refused = refused - e.refused;
    d.failed = failed - e.failed;
    d.dead = dead - e.dead;
    d.lost = lost - e.lost;
    for (const auto& [code, n] : closes) {
        const auto it = e.closes.find(code);
        if (const auto k = n - (it == e.closes.end() ? 0 : it->second)) d.closes[code] = k;
    }
    for (const auto& [why, n] : reasons) {
        const auto it = e.reasons.find(why);
        if (const auto k = n - (it == e.reasons.end() ? 0 : it->second)) d.reasons[why] = k;
    }
    d.lateness_us = lateness_us.since(e.lateness_us);
    d.reconnect_us = reconnect_us.since(e.reconnect_us);
    return d;
}

}  // namespace streambed::fleet
