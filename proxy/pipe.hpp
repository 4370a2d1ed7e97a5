// pipe.hpp: one direction of one proxied connection — reads from one socket, cuts the bytes into
// units (unit_splitter), gives each unit its delay, holds the bytes (bounded), and writes them to
// the other socket when due, paced by bandwidth and slices. Lives on the proxy's io thread.
#pragma once

#include <array>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/proxy_state.hpp"
#include "proxy/unit_splitter.hpp"
#include "simulator/rng.hpp"

namespace streambed::proxy {

class Pipe;

// The connection a pipe belongs to, told of what ends it.
class PipeOwner {
  public:
    virtual ~PipeOwner() = default;
    virtual std::shared_ptr<void> keep_alive() = 0;  // bound into every handler
    virtual void pipe_drained(Pipe&) = 0;            // the source ended and every byte is written
    virtual void pipe_failed(Pipe&, const boost::system::error_code&) = 0;
    virtual void pipe_limit_reached(Pipe&) = 0;   // limit_data: close
    virtual void pipe_frames_reached(Pipe&) = 0;  // drop_after_frames: reset
};

// The generator of (seed, connection key, direction, impairment name).
std::uint64_t draw_seed(std::uint64_t seed, const std::string& key, Direction d,
                        const std::string& name);

class Pipe {
  public:
    Pipe(ProxyState& st, PipeOwner& owner, tcp::socket& from, tcp::socket& to, Direction dir,
         std::string key, UnitSplitter::Start start);

    // Forwards `initial` (bytes already read from `from`) and starts reading.
    void start(std::string_view initial, Clock::time_point arrival);
    // The impairments in force changed (or the partition): re-evaluate, wake the writer.
    void apply(const std::vector<Impairment>& all, bool partition);
    void close();  // no further reads, writes or timers
    Direction direction() const { return dir_; }
    bool drained() const { return drained_; }

  private:
    struct Piece {
        std::string bytes;
        std::size_t sent = 0;
        Clock::time_point release;
        std::uint64_t unit = 0;
        bool frame_end = false;
    };
    struct Active {  // per impairment name, from when it started to apply to this pipe
        Impairment imp;
        simulator::Rng rng;
        std::uint64_t bytes_base, frames_base;
    };
    enum class Fate { normal, undecided, held };

    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void feed(std::string_view data, Clock::time_point now);
    void route(Piece p, Fate fate);
    void decide_fate();
    void release_held(Clock::time_point now);
    std::chrono::microseconds draw();
    void pump();
    void on_write(const boost::system::error_code& ec, std::size_t n, Clock::time_point started);
    void arm(Clock::time_point at);
    bool stalled() const;
    bool holding() const;

    ProxyState& st_;
    PipeOwner& owner_;
    tcp::socket& from_;
    tcp::socket& to_;
    const Direction dir_;
    const std::string key_;
    UnitSplitter splitter_;
    asio::steady_timer timer_;
    std::array<char, 16 * 1024> buf_{};
    std::vector<Segment> segments_;

    std::map<std::string, Active> active_;  // by name
    bool partition_ = false;

    std::deque<Piece> queue_;     // due to be written, in order
    std::deque<Piece> staging_;   // the current frame, until its channel is known (hold_stream)
    std::deque<Piece> held_;      // frames of held streams
    std::size_t held_bytes_ = 0;  // in all three
    std::uint64_t unit_serial_ = 0;
    std::chrono::microseconds unit_delay_{0};
    Fate fate_ = Fate::normal;
    std::string prefix_;  // the current frame's first payload bytes, while undecided
    bool release_held_at_frame_end_ = false;
    Clock::time_point last_release_{}, next_send_{};

    std::uint64_t bytes_written_ = 0, frames_written_ = 0;
    bool reading_ = false, read_paused_ = false, read_eof_ = false;
    bool writing_ = false, waiting_ = false, closed_ = false, drained_ = false;
};

}  // namespace streambed::proxy
