// connection.hpp: one proxied connection — reads the client's request head (for its key),
// connects upstream, and runs the two pipes; closes or resets both sides together.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/pipe.hpp"
#include "proxy/proxy_state.hpp"

namespace streambed::proxy {

class Connection : public std::enable_shared_from_this<Connection>, private PipeOwner {
  public:
    Connection(ProxyState& st, tcp::socket client, std::uint64_t ordinal);
    ~Connection() override;

    void start();
    void apply();  // the impairments or the partition changed
    void reset();  // RST both sides (SO_LINGER 0), now
    void close();  // an orderly close of both sides
    std::uint64_t ordinal() const { return ordinal_; }
    const std::string& key() const { return key_; }

    static constexpr std::size_t kMaxHead = 16 * 1024;

  private:
    enum class State { head, partitioned, connecting, open, closed };

    void do_read_head();
    void on_read_head(const boost::system::error_code& ec, std::size_t n);
    void head_done();
    void do_connect();
    void on_connect(const boost::system::error_code& ec);
    bool reset_in_force() const;

    std::shared_ptr<void> keep_alive() override { return shared_from_this(); }
    void pipe_drained(Pipe&) override;
    void pipe_failed(Pipe&, const boost::system::error_code&) override;
    void pipe_limit_reached(Pipe&) override { close(); }
    void pipe_frames_reached(Pipe&) override { reset(); }

    ProxyState& st_;
    tcp::socket client_, server_;
    const std::uint64_t ordinal_;
    State state_ = State::head;
    bool http_ = false;
    std::array<char, 4096> head_buf_{};
    std::string head_;  // the client's first bytes: its request head, perhaps more
    std::string key_;
    Clock::time_point head_arrival_{};
    std::optional<Pipe> up_, down_;
};

// What the first bytes of a connection are: not yet known, an HTTP head (complete, or cut at
// the bound), or not HTTP at all (a raw TCP stream).
enum class HeadKind { incomplete, http, raw };
HeadKind classify_head(std::string_view bytes, std::size_t bound);
// The value of "X-Streambed-Client:" in a request head, "" when absent.
std::string client_key(std::string_view head);

}  // namespace streambed::proxy
