// server.cpp: wiring of shards, listener and signals; the shutdown sequence.
#include "engine/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <mutex>
#include <random>
#include <thread>

#include "engine/hub.hpp"
#include "engine/listener.hpp"
#include "engine/server_context.hpp"

namespace streambed::engine {

namespace asio = boost::asio;

namespace {

// 10,000 connections need 10,000 descriptors; the soft limit is often 1,024.
void raise_descriptor_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

std::string random_instance() {
    std::random_device rd;
    return fmt::format("{:06x}", rd() & 0xffffff);
}

}  // namespace

struct Server::Impl {
    explicit Impl(ServerOptions o) : hub(o.history), ctx(std::move(o), hub) {}

    Hub hub;
    ServerContext ctx;
    std::shared_ptr<Listener> listener;
    std::uint16_t port = 0;
    std::string address;

    std::mutex mu;
    bool stopped = false;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    auto& ctx = impl_->ctx;
    ctx.instance = random_instance();
    unsigned n = ctx.options.threads ? ctx.options.threads
                                     : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) {
        ctx.shards.push_back(std::make_unique<Shard>(i, ctx.options.coalesce_window,
                                                     ctx.options.heartbeat, ctx.options.io_uring));
        impl_->hub.attach(ctx.shards.back().get());
    }
}

Server::~Server() {
    shutdown();
}

Publisher& Server::publisher() {
    return impl_->hub;
}

void Server::set_tap(Tap* tap) {
    impl_->hub.set_tap(tap);
    impl_->ctx.tap = tap;
}
Hub& Server::hub() {
    return impl_->hub;
}
std::uint16_t Server::port() const {
    return impl_->port;
}
std::string Server::url() const {
    return fmt::format("{}://{}:{}", impl_->ctx.tls ? "https" : "http", impl_->address,
                       impl_->port);
}

void Server::start(bool accept) {
    auto& ctx = impl_->ctx;
    raise_descriptor_limit();
    const auto& o = ctx.options;
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        throw std::runtime_error("TLS needs both a certificate (--tls-cert) and a key (--tls-key)");
    if (!o.tls_cert_file.empty()) {
        auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
        tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
        try {
            tls->use_certificate_chain_file(o.tls_cert_file);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("cannot use TLS certificate '" + o.tls_cert_file +
                                     "': " + e.code().message());
        }
        try {
            tls->use_private_key_file(o.tls_key_file, asio::ssl::context::pem);
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error("cannot use TLS key '" + o.tls_key_file +
                                     "': " + e.code().message());
        }
        ctx.tls = std::move(tls);
    }
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(ctx.options.bind, ec);
    if (ec) {  // a host name (`localhost`): its first address
        asio::io_context resolving;
        asio::ip::tcp::resolver resolver(resolving);
        auto found = resolver.resolve(ctx.options.bind, "", asio::ip::tcp::resolver::passive, ec);
        if (ec || found.empty())
            throw std::runtime_error("bad bind address '" + ctx.options.bind + "'");
        addr = found.begin()->endpoint().address();
    }
    asio::ip::tcp::endpoint at(addr, ctx.options.port);
    try {
        impl_->listener = std::make_shared<Listener>(ctx, ctx.shards.front()->ioc(), at);
    } catch (const boost::system::system_error& e) {
        throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", ctx.options.bind,
                                             ctx.options.port, e.code().message()));
    }
    auto local = impl_->listener->local_endpoint();
    impl_->port = local.port();
    impl_->address = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                             : local.address().to_string();
    // spdlog builds its registry on first use; shard threads that log first at the same
    // moment would race on it (TSan saw it), so it is built here, before they exist.
    spdlog::default_logger_raw();
    for (auto& s : ctx.shards) s->start_thread();
    if (accept) impl_->listener->run();
}

void Server::accept_connections() {
    if (impl_->listener) impl_->listener->run();
}

void Server::abort() {
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->stopped) return;
        impl_->stopped = true;
    }
    // The listening socket and every connection close when the server is destroyed, with the
    // threads' queues (nothing runs them any more).
    for (auto& s : impl_->ctx.shards) s->stop_thread();
}

void Server::shutdown() {
    {
        std::lock_guard lock(impl_->mu);
        if (impl_->stopped) return;
        impl_->stopped = true;
    }
    auto& ctx = impl_->ctx;
    ctx.draining = true;
    if (impl_->listener) {
        // While draining, the listener stays open: health answers DOWN and upgrades get 503.
        for (auto& s : ctx.shards) {
            Shard* shard = s.get();
            asio::post(shard->ioc(), [shard] { shard->close_all_for_shutdown(); });
        }
        // Wait, with a deadline, for every client to complete the closing handshake: the
        // last session to end tells (ServerContext::connection_ended).
        std::unique_lock lock(ctx.drained_mu);
        ctx.drained_cv.wait_for(lock, ctx.options.drain_timeout,
                                [&] { return ctx.websocket_connections.load() == 0; });
        lock.unlock();
        impl_->listener->stop();
    }
    for (auto& s : ctx.shards) s->stop_thread();
}

}  // namespace streambed::engine
