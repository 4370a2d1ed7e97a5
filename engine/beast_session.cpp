// beast_session.cpp: the transport of connections whose frames Beast's websocket::stream
// carries — wss:// (it encrypts them) and ws:// with permessage-deflate (it compresses them):
// Beast's accept, read loop, heartbeat and close around the protocol side (session.cpp). The
// only translation unit that instantiates Beast's WebSocket stream, once: over a Transport, TLS
// or not (transport.hpp).
#include "engine/beast_session.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include "engine/access.hpp"
#include "engine/gathered_writer.hpp"
#include "engine/protocol.hpp"
#include "engine/session.hpp"

namespace streambed::engine {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// What Beast reports of a peer that went away or of its own closing, not worth a log line.
bool beast_expected(beast::error_code ec) {
    return ec == websocket::error::closed || ec == websocket::error::message_too_big ||
           ec == beast::error::timeout;
}

class BeastSession final : public Session {
  public:
    BeastSession(ServerContext& ctx, Shard& shard, Transport transport, SessionParams params)
        : Session(ctx, shard, params), ws_(std::move(transport)) {}

    ~BeastSession() override { meter_.closed(ws_.reason().code, ws_.reason().reason.c_str()); }

    void run(http::request<http::string_body> req) {
        // Recorded without the auth token's value (the Authorization header is not recorded).
        if (ctx_.tap) target_ = redact_target(std::string_view(req.target()));
        const auto& o = ctx_.options;
        websocket::stream_base::timeout timeout;
        timeout.handshake_timeout = o.handshake_timeout;
        timeout.idle_timeout = o.heartbeat * 2;  // Beast pings after half of it: heartbeatMs
        timeout.keep_alive_pings = true;
        ws_.set_option(timeout);
        ws_.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, "streambed"); }));
        ws_.read_message_max(o.inbound_limit_bytes);
        ws_.auto_fragment(false);
        ws_.text(true);
        if (o.deflate) {
            websocket::permessage_deflate pmd;
            pmd.server_enable = true;
            ws_.set_option(pmd);
        }
        ws_.async_accept(req, beast::bind_front_handler(&BeastSession::on_accept, self()));
    }

  private:
    std::shared_ptr<BeastSession> self() {
        return std::static_pointer_cast<BeastSession>(shared_from_this());
    }

    void on_accept(beast::error_code ec) {
        if (ec) return on_error(ec, "accept");
        beast::error_code ec_peer;
        const auto peer = socket().remote_endpoint(ec_peer);
        opened(ec_peer ? std::string()
                       : peer.address().to_string() + ":" + std::to_string(peer.port()),
               std::move(target_));
        do_read();
    }

    tcp::socket& socket() { return ws_.next_layer().next_layer().socket(); }

    void on_error(beast::error_code ec, const char* what) {
        fail(beast_expected(ec) ? beast::error_code() : ec, what);
    }

    void do_read() {
        ws_.async_read(buffer_, beast::bind_front_handler(&BeastSession::on_read, self()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        if (ec) return on_error(ec, "read");  // message_too_big: Beast has closed with 1009
        const auto data = buffer_.cdata();
        on_message({static_cast<const char*>(data.data()), data.size()}, ws_.got_binary());
        buffer_.consume(buffer_.size());
        if (buffer_.capacity() > 4096) buffer_.shrink_to_fit();  // keep idle connections small
        if (!closing_) do_read();
    }

    // One frame per write: Beast encrypts or compresses each. With ?batch=1 a run of data
    // messages becomes one array frame.
    void write_now() override {
        if (queue_.writing() || !queue_.has_queued() || closing_) return;
        auto batch = queue_.begin_write(params_.batch ? kBatchMaxMessages : 1, kBatchMaxBytes,
                                        /*control_alone=*/true);
        if (batch.size() > 1) batch_array(batch_buffer_, batch);
        ws_.async_write(asio::buffer(batch.size() == 1 ? batch[0]->bytes : batch_buffer_),
                        beast::bind_front_handler(&BeastSession::on_write, self()));
        // The write starts inside async_write (Asio tries the send at once).
        meter_.write_started(batch);
    }

    void on_write(beast::error_code ec, std::size_t bytes) {
        if (ec) return on_error(ec, "write");
        meter_.written_as_one(queue_.inflight(), bytes);
        if (batch_buffer_.capacity() > kBatchMaxBytes * 2) std::string().swap(batch_buffer_);
        written();
        write_now();
    }

    void close_transport(CloseCode code, std::string_view reason) override {
        ws_.async_close(websocket::close_reason(static_cast<websocket::close_code>(code), reason),
                        [self = self()](beast::error_code ec) {
                            if (ec) self->on_error(ec, "close");
                        });
    }

    bool peer_closed_first() const override { return ws_.reason().code != 0; }

    websocket::stream<Transport> ws_;
    beast::flat_buffer buffer_;
    std::string batch_buffer_;  // a ?batch=1 array
    std::string target_;        // the upgrade target until the welcome (recorded)
};

}  // namespace

void start_beast_session(ServerContext& ctx, Shard& shard, Transport transport,
                         http::request<http::string_body> request, SessionParams params) {
    std::make_shared<BeastSession>(ctx, shard, std::move(transport), params)
        ->run(std::move(request));
}

}  // namespace streambed::engine
