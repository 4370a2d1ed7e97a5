// control_api.cpp: the control API's routes and its small Beast HTTP server.
#include "proxy/control_api.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <stdexcept>
#include <thread>

namespace streambed::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

ControlResponse error(int status, const std::string& message) {
    return {status, json{{"error", message}}.dump()};
}
ControlResponse ok(int status, const json& body) {
    return {status, body.dump()};
}

ControlResponse impairments_route(ImpairmentProxy& proxy, std::string_view method,
                                  std::string_view body) {
    if (method == "GET") {
        json list = json::array();
        for (const auto& i : proxy.list()) list.push_back(to_json(i));
        return ok(200, list);
    }
    if (method != "POST") return error(405, "method not allowed on /impairments: use GET or POST");
    auto j = json::parse(body, nullptr, false);
    if (j.is_discarded()) return error(400, "the body is not JSON: send one impairment object");
    std::string why;
    auto imp = impairment_from_json(j, why);
    if (!imp) return error(400, why);
    proxy.add(*imp);
    return ok(201, to_json(*imp));
}

}  // namespace

ControlResponse handle_control(ImpairmentProxy& proxy, std::string_view method,
                               std::string_view target, std::string_view body) {
    if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
    if (target == "/impairments") return impairments_route(proxy, method, body);
    if (target.rfind("/impairments/", 0) == 0) {
        const std::string name(target.substr(13));
        if (method != "DELETE")
            return error(405, "method not allowed on /impairments/NAME: use DELETE");
        if (!proxy.remove(name)) return error(404, "no impairment named '" + name + "'");
        return {204, ""};
    }
    if (target == "/partition") {
        if (method != "POST") return error(405, "method not allowed on /partition: use POST");
        auto j = json::parse(body, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("on") || !j["on"].is_boolean())
            return error(400, R"('on' must be true or false: send {"on":true})");
        proxy.set_partition(j["on"].get<bool>());
        return ok(200, json{{"partition", j["on"].get<bool>()}});
    }
    if (target == "/reset") {
        if (method != "POST") return error(405, "method not allowed on /reset: use POST");
        proxy.reset_all();
        return ok(200, json{{"reset", true}});
    }
    if (target == "/stats") {
        if (method != "GET") return error(405, "method not allowed on /stats: use GET");
        auto s = to_json(proxy.stats());
        s["partition"] = proxy.partitioned();
        return ok(200, s);
    }
    return error(404, "no such route: " + std::string(target) +
                          " (try /impairments, /partition, /reset or /stats)");
}

// ---- the server: one session per connection, keep-alive, one request at a time ----

namespace {

class Session : public std::enable_shared_from_this<Session> {
  public:
    Session(tcp::socket s, ImpairmentProxy& proxy) : stream_(std::move(s)), proxy_(proxy) {}
    void start() { do_read(); }

  private:
    void do_read() {
        parser_.emplace();
        parser_->body_limit(64 * 1024);  // an impairment is a few hundred bytes
        stream_.expires_after(std::chrono::seconds(60));
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (ec) return;  // closed, timed out or malformed: nothing to answer
        const auto& req = parser_->get();
        const auto r = handle_control(proxy_, std::string_view(req.method_string()),
                                      std::string_view(req.target()), req.body());
        response_ = {};
        response_.version(req.version());
        response_.result(static_cast<unsigned>(r.status));
        response_.keep_alive(req.keep_alive());
        if (r.status != 204) {
            response_.set(http::field::content_type, "application/json");
            response_.body() = r.body;
        }
        response_.prepare_payload();
        http::async_write(stream_, response_,
                          [self = shared_from_this()](beast::error_code wec, std::size_t) {
                              self->on_write(wec);
                          });
    }

    void on_write(beast::error_code ec) {
        if (ec) return;
        if (!response_.keep_alive()) {
            stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
            return;
        }
        do_read();
    }

    beast::tcp_stream stream_;
    ImpairmentProxy& proxy_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    http::response<http::string_body> response_;
};

}  // namespace

struct ControlApi::Impl {
    Impl(ImpairmentProxy& p, std::string h, std::uint16_t pt)
        : proxy(p), host(std::move(h)), want_port(pt) {}

    ImpairmentProxy& proxy;
    std::string host;
    std::uint16_t want_port;
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::uint16_t port = 0;
    bool stopped = false;

    void do_accept() {
        acceptor.async_accept([this](beast::error_code ec, tcp::socket s) {
            if (!acceptor.is_open()) return;
            if (!ec) std::make_shared<Session>(std::move(s), proxy)->start();
            do_accept();
        });
    }
};

ControlApi::ControlApi(ImpairmentProxy& proxy, std::string host, std::uint16_t port)
    : impl_(std::make_unique<Impl>(proxy, std::move(host), port)) {}

ControlApi::~ControlApi() {
    stop();
}

void ControlApi::start() {
    auto& m = *impl_;
    beast::error_code ec;
    tcp::resolver resolver(m.io);
    auto results = resolver.resolve(m.host, std::to_string(m.want_port), ec);
    if (!ec && results.empty()) ec = asio::error::host_not_found;
    if (!ec) {
        const auto ep = results.begin()->endpoint();
        m.acceptor.open(ep.protocol(), ec);
        if (!ec) m.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) m.acceptor.bind(ep, ec);
        if (!ec) m.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec)
        throw std::runtime_error(
            fmt::format("cannot listen on {}:{}: {}", m.host, m.want_port, ec.message()));
    m.port = m.acceptor.local_endpoint().port();
    m.do_accept();
    m.thread = std::thread([&m] { m.io.run(); });
}

std::uint16_t ControlApi::port() const {
    return impl_->port;
}

void ControlApi::stop() {
    auto& m = *impl_;
    if (m.stopped) return;
    m.stopped = true;
    asio::post(m.io, [&m] {
        beast::error_code ec;
        m.acceptor.close(ec);
        m.io.stop();
    });
    if (m.thread.joinable()) m.thread.join();
}

}  // namespace streambed::proxy
