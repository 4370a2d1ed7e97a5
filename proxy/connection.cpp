// connection.cpp: one proxied connection — head, key, upstream connect, two pipes, close and reset.
#include "proxy/connection.hpp"

#include <boost/asio/connect.hpp>
#include <cctype>

namespace streambed::proxy {

HeadKind classify_head(std::string_view bytes, std::size_t bound) {
    std::size_t i = 0;
    while (i < bytes.size() && i < 16 && bytes[i] >= 'A' && bytes[i] <= 'Z') ++i;
    if (i == bytes.size()) return i < 16 ? HeadKind::incomplete : HeadKind::raw;
    if (i == 0 || bytes[i] != ' ') return HeadKind::raw;  // not a request line: a raw stream
    if (bytes.find("\r\n\r\n") != std::string_view::npos || bytes.size() >= bound)
        return HeadKind::http;
    return HeadKind::incomplete;
}

std::string client_key(std::string_view head) {
    static constexpr std::string_view name = "\nx-streambed-client:";
    for (std::size_t pos = 0; pos + name.size() <= head.size(); ++pos) {
        bool match = true;
        for (std::size_t k = 0; k < name.size() && match; ++k)
            match = std::tolower(static_cast<unsigned char>(head[pos + k])) == name[k];
        if (!match) continue;
        std::size_t from = pos + name.size();
        std::size_t to = head.find('\r', from);
        if (to == std::string_view::npos) to = head.find('\n', from);
        if (to == std::string_view::npos) to = head.size();
        while (from < to && (head[from] == ' ' || head[from] == '\t')) ++from;
        while (to > from && (head[to - 1] == ' ' || head[to - 1] == '\t')) --to;
        return std::string(head.substr(from, to - from));
    }
    return {};
}

Connection::Connection(ProxyState& st, tcp::socket client, std::uint64_t ordinal)
    : st_(st), client_(std::move(client)), server_(st.io), ordinal_(ordinal) {
    ++st_.open;
}

Connection::~Connection() = default;

bool Connection::reset_in_force() const {
    for (const auto& i : *st_.impairments)
        if (i.reset) return true;
    return false;
}

void Connection::start() {
    if (reset_in_force()) return reset();  // on arrival
    boost::system::error_code ec;
    client_.set_option(tcp::no_delay(true), ec);
    do_read_head();
}

void Connection::apply() {
    if (state_ == State::closed) return;
    if (reset_in_force()) return reset();
    if (state_ == State::partitioned && !st_.partition) return do_connect();
    if (state_ != State::open) return;
    up_->apply(*st_.impairments, st_.partition);
    down_->apply(*st_.impairments, st_.partition);
}

// ---- the head: the key, and whether this is HTTP ----

void Connection::do_read_head() {
    const std::size_t room = std::min(head_buf_.size(), kMaxHead - head_.size());
    client_.async_read_some(
        asio::buffer(head_buf_.data(), room),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
            self->on_read_head(ec, n);
        });
}

void Connection::on_read_head(const boost::system::error_code& ec, std::size_t n) {
    if (state_ == State::closed) return;
    if (ec) return close();  // gone before saying anything useful
    head_.append(head_buf_.data(), n);
    head_arrival_ = Clock::now();
    const HeadKind kind = classify_head(head_, kMaxHead);
    if (kind == HeadKind::incomplete) return do_read_head();
    http_ = kind == HeadKind::http;
    head_done();
}

void Connection::head_done() {
    if (http_) key_ = client_key(head_);
    if (key_.empty()) key_ = std::to_string(ordinal_);  // the accept ordinal
    if (st_.partition) {
        state_ = State::partitioned;  // connected upstream when the partition ends
        return;
    }
    do_connect();
}

void Connection::do_connect() {
    state_ = State::connecting;
    asio::async_connect(
        server_, st_.upstream,
        [self = shared_from_this()](const boost::system::error_code& ec, const tcp::endpoint&) {
            self->on_connect(ec);
        });
}

void Connection::on_connect(const boost::system::error_code& ec) {
    if (state_ == State::closed) return;
    if (ec) return close();
    state_ = State::open;
    boost::system::error_code ignored;
    server_.set_option(tcp::no_delay(true), ignored);
    st_.schedules.begin(key_);
    using S = UnitSplitter::Start;
    up_.emplace(st_, static_cast<PipeOwner&>(*this), client_, server_, Direction::upstream, key_,
                http_ ? S::http_request : S::raw);
    down_.emplace(st_, static_cast<PipeOwner&>(*this), server_, client_, Direction::downstream,
                  key_, http_ ? S::http_response : S::raw);
    up_->apply(*st_.impairments, st_.partition);
    down_->apply(*st_.impairments, st_.partition);
    up_->start(head_, head_arrival_);
    down_->start({}, Clock::now());
    head_.clear();
    head_.shrink_to_fit();
}

// ---- ends ----

void Connection::pipe_drained(Pipe& p) {
    boost::system::error_code ec;
    (p.direction() == Direction::upstream ? server_ : client_)
        .shutdown(tcp::socket::shutdown_send, ec);
    if (up_->drained() && down_->drained()) close();
}

void Connection::pipe_failed(Pipe&, const boost::system::error_code& ec) {
    if (ec == asio::error::connection_reset) return reset();  // pass a reset on
    close();
}

void Connection::reset() {
    if (state_ == State::closed) return;
    boost::system::error_code ec;
    for (auto* s : {&client_, &server_})
        if (s->is_open()) s->set_option(asio::socket_base::linger(true, 0), ec);
    ++st_.resets;
    close();
}

void Connection::close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    if (up_) up_->close();
    if (down_) down_->close();
    boost::system::error_code ec;
    client_.close(ec);
    server_.close(ec);
    --st_.open;
    if (st_.forget) st_.forget(ordinal_);
}

}  // namespace streambed::proxy
