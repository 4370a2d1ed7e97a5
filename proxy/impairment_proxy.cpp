// impairment_proxy.cpp: the acceptor, the registry of impairments and connections, the thread.
#include "proxy/impairment_proxy.hpp"

#include <fmt/format.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "proxy/connection.hpp"
#include "proxy/proxy_state.hpp"

namespace streambed::proxy {

struct ImpairmentProxy::Impl {
    explicit Impl(ProxyOptions o) : st(io, std::move(o)) {}

    asio::io_context io{1};
    ProxyState st;
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::atomic<std::uint16_t> port{0};

    mutable std::mutex mu;  // guards the registry below and the lifecycle flags
    std::vector<Impairment> registry;
    bool partition = false;
    bool started = false, stopped = false;

    // The io thread only. Owning: a connection waiting out a partition has no pending operation
    // to keep it alive. A connection leaves when it closes (ProxyState::forget).
    std::unordered_map<std::uint64_t, std::shared_ptr<Connection>> connections;

    // Hands the current registry to the io thread, which applies it to every connection.
    // Called with `mu` held, so posts reach the io thread in the registry's order.
    void publish_locked() {
        auto snapshot = std::make_shared<const std::vector<Impairment>>(registry);
        asio::post(io, [this, snapshot, on = partition] {
            st.impairments = snapshot;
            st.partition = on;
            for_each_connection([](Connection& c) { c.apply(); });
        });
    }

    template <class F>
    void for_each_connection(F f) {
        std::vector<std::shared_ptr<Connection>> all;  // a copy: f may close (and forget) them
        all.reserve(connections.size());
        for (auto& [id, c] : connections) all.push_back(c);
        for (auto& c : all) f(*c);
    }

    void do_accept() {
        acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
            if (!ec) {
                const auto ordinal = ++st.accepted;
                auto c = std::make_shared<Connection>(st, std::move(socket), ordinal);
                connections[ordinal] = c;
                c->start();
            }
            do_accept();  // a failed accept (EMFILE…) is not the end of the proxy
        });
    }
};

namespace {

std::vector<tcp::endpoint> resolve(asio::io_context& io, const std::string& host,
                                   std::uint16_t port, const char* what) {
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty())
        throw std::runtime_error(fmt::format("cannot resolve {} address {}:{}: {}", what, host,
                                             port, ec ? ec.message() : "no address"));
    std::vector<tcp::endpoint> out;
    for (const auto& r : results) out.push_back(r.endpoint());
    return out;
}

}  // namespace

ImpairmentProxy::ImpairmentProxy(ProxyOptions o) : impl_(std::make_unique<Impl>(std::move(o))) {
    impl_->st.forget = [impl = impl_.get()](std::uint64_t id) { impl->connections.erase(id); };
}

ImpairmentProxy::~ImpairmentProxy() {
    stop();
}

void ImpairmentProxy::start() {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        if (m.started) throw std::runtime_error("the proxy was started already");
        m.started = true;
    }
    const auto& o = m.st.options;
    m.st.upstream = resolve(m.io, o.upstream_host, o.upstream_port, "upstream");
    const auto listen = resolve(m.io, o.listen_host, o.listen_port, "listen").front();
    boost::system::error_code ec;
    m.acceptor.open(listen.protocol(), ec);
    if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) m.acceptor.bind(listen, ec);
    if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot listen on {}:{}: {}", o.listen_host, o.listen_port, ec.message()));
    m.port = m.acceptor.local_endpoint().port();
    m.do_accept();
    m.thread = std::thread([&m] { m.io.run(); });
}

std::uint16_t ImpairmentProxy::port() const {
    return impl_->port;
}

void ImpairmentProxy::stop() {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mu);
        if (m.stopped) return;
        m.stopped = true;
    }
    asio::post(m.io, [&m] {
        boost::system::error_code ec;
        m.acceptor.close(ec);
        m.for_each_connection([](Connection& c) { c.close(); });
        m.io.stop();  // whatever is still pending is destroyed with the io_context
    });
    if (m.thread.joinable()) m.thread.join();
}

void ImpairmentProxy::add(Impairment i) {
    std::lock_guard lock(impl_->mu);
    auto& r = impl_->registry;
    auto it =
        std::find_if(r.begin(), r.end(), [&](const Impairment& x) { return x.name == i.name; });
    if (it != r.end())
        *it = std::move(i);
    else
        r.push_back(std::move(i));
    impl_->publish_locked();
}

bool ImpairmentProxy::remove(const std::string& name) {
    std::lock_guard lock(impl_->mu);
    auto& r = impl_->registry;
    auto it = std::find_if(r.begin(), r.end(), [&](const Impairment& x) { return x.name == name; });
    if (it == r.end()) return false;
    r.erase(it);
    impl_->publish_locked();
    return true;
}

void ImpairmentProxy::clear() {
    std::lock_guard lock(impl_->mu);
    impl_->registry.clear();
    impl_->publish_locked();
}

std::vector<Impairment> ImpairmentProxy::list() const {
    std::lock_guard lock(impl_->mu);
    return impl_->registry;
}

void ImpairmentProxy::set_partition(bool on) {
    std::lock_guard lock(impl_->mu);
    impl_->partition = on;
    impl_->publish_locked();
}

bool ImpairmentProxy::partitioned() const {
    std::lock_guard lock(impl_->mu);
    return impl_->partition;
}

void ImpairmentProxy::reset_all() {
    asio::post(impl_->io, [impl = impl_.get()] {
        impl->for_each_connection([](Connection& c) { c.reset(); });
    });
}

ImpairmentProxy::Stats ImpairmentProxy::stats() const {
    const auto& st = impl_->st;
    return Stats{st.accepted, st.open, st.bytes_up, st.bytes_down, st.resets};
}

std::vector<std::int64_t> ImpairmentProxy::schedule(const std::string& key, Direction d) const {
    return impl_->st.schedules.get(key, d);
}

nlohmann::json to_json(const ImpairmentProxy::Stats& s) {
    return {{"accepted", s.accepted},
            {"open", s.open},
            {"bytes_up", s.bytes_up},
            {"bytes_down", s.bytes_down},
            {"resets", s.resets}};
}

}  // namespace streambed::proxy
