// pipe.cpp: one direction of one connection — read, split into units, delay, hold, pace, write.
#include "proxy/pipe.hpp"

#include <algorithm>
#include <boost/asio/write.hpp>

namespace streambed::proxy {
namespace {

using std::chrono::microseconds;
constexpr std::size_t kPrefix = 128;  // payload bytes read before a frame's channel is judged

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

// A data frame of this channel, as the server frames it: {"type":"…","channel":"ch-1",…}.
bool frame_of_channel(std::string_view prefix, const std::string& channel) {
    if (prefix.rfind(R"({"type":"reset")", 0) == 0)
        return false;  // a control message naming a channel
    return prefix.find("\"channel\":\"" + channel + "\"") != std::string_view::npos;
}

}  // namespace

std::uint64_t draw_seed(std::uint64_t seed, const std::string& key, Direction d,
                        const std::string& name) {
    std::uint64_t x = seed;
    std::uint64_t h = simulator::splitmix64(x) ^ fnv1a(key);
    h = simulator::splitmix64(h) ^ (d == Direction::upstream ? 1 : 2);
    h = simulator::splitmix64(h) ^ fnv1a(name);
    return simulator::splitmix64(h);
}

Pipe::Pipe(ProxyState& st, PipeOwner& owner, tcp::socket& from, tcp::socket& to, Direction dir,
           std::string key, UnitSplitter::Start start)
    : st_(st),
      owner_(owner),
      from_(from),
      to_(to),
      dir_(dir),
      key_(std::move(key)),
      splitter_(start),
      timer_(st.io) {}

void Pipe::start(std::string_view initial, Clock::time_point arrival) {
    if (!initial.empty()) feed(initial, arrival);
    pump();
    do_read();
}

void Pipe::apply(const std::vector<Impairment>& all, bool partition) {
    partition_ = partition;
    std::map<std::string, Active> next;
    for (const auto& imp : all) {
        if (!imp.applies_to(dir_)) continue;
        auto it = active_.find(imp.name);
        if (it != active_.end() && to_json(it->second.imp) == to_json(imp)) {
            next.emplace(imp.name, std::move(it->second));  // unchanged: its draws go on
        } else {  // new or replaced: its generator starts afresh, its counts from now
            next.emplace(
                imp.name,
                Active{imp, simulator::Rng(draw_seed(st_.options.seed, key_, dir_, imp.name)),
                       bytes_written_, frames_written_});
        }
    }
    active_ = std::move(next);
    if (!holding() && (!held_.empty() || fate_ != Fate::normal)) {
        const bool mid_unit =
            fate_ == Fate::normal && !segments_.empty() && !segments_.back().unit_end;
        if (mid_unit)
            release_held_at_frame_end_ = true;  // never split the frame being queued
        else
            release_held(Clock::now());
    }
    if (closed_) return;
    if (waiting_)
        timer_.cancel();  // its handler pumps again
    else
        pump();
}

void Pipe::close() {
    closed_ = true;
    timer_.cancel();
}

bool Pipe::stalled() const {
    if (partition_) return true;
    return std::any_of(active_.begin(), active_.end(),
                       [](const auto& a) { return a.second.imp.stall; });
}

bool Pipe::holding() const {
    if (dir_ != Direction::downstream) return false;
    return std::any_of(active_.begin(), active_.end(),
                       [](const auto& a) { return !a.second.imp.hold_stream.empty(); });
}

// ---- reading ----

void Pipe::do_read() {
    if (closed_ || reading_ || read_eof_) return;
    if (held_bytes_ >= st_.options.max_held_bytes) {  // bounded: TCP back-pressure does the rest
        read_paused_ = true;
        return;
    }
    reading_ = true;
    from_.async_read_some(asio::buffer(buf_),
                          [this, keep = owner_.keep_alive()](const boost::system::error_code& ec,
                                                             std::size_t n) { on_read(ec, n); });
}

void Pipe::on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (closed_) return;
    if (ec == asio::error::eof) {
        read_eof_ = true;
        if (fate_ == Fate::undecided) decide_fate();
        pump();
        return;
    }
    if (ec) return owner_.pipe_failed(*this, ec);
    feed(std::string_view(buf_.data(), n), Clock::now());
    pump();
    do_read();
}

// Delivery time of a unit's bytes = max(previous release, arrival + the unit's drawn delay).
void Pipe::feed(std::string_view data, Clock::time_point now) {
    segments_.clear();
    splitter_.split(data, segments_);
    std::size_t off = 0;
    for (const auto& s : segments_) {
        const auto bytes = data.substr(off, s.length);
        off += s.length;
        if (s.unit_start) {
            ++unit_serial_;
            unit_delay_ = draw();
            fate_ = (s.frame && holding()) ? Fate::undecided : Fate::normal;
            prefix_.clear();
        }
        const auto release =
            std::max(last_release_, now + std::chrono::duration_cast<Clock::duration>(unit_delay_));
        last_release_ = release;
        if (fate_ == Fate::undecided && s.payload && prefix_.size() < kPrefix)
            prefix_.append(bytes.substr(0, kPrefix - prefix_.size()));
        route(Piece{std::string(bytes), 0, release, unit_serial_, s.unit_end && s.frame}, fate_);
        if (fate_ == Fate::undecided && (s.unit_end || prefix_.size() >= kPrefix)) decide_fate();
        if (s.unit_end) {
            if (release_held_at_frame_end_) release_held(now);
            fate_ = Fate::normal;
        }
    }
}

void Pipe::route(Piece p, Fate fate) {
    auto& dest = fate == Fate::normal ? queue_ : fate == Fate::held ? held_ : staging_;
    held_bytes_ += p.bytes.size();
    // Same unit, same read: one piece. Never grow the piece being written (its buffer is in
    // flight).
    const bool in_flight = &dest == &queue_ && writing_ && dest.size() == 1;
    if (!dest.empty() && !in_flight && dest.back().unit == p.unit &&
        dest.back().release == p.release && dest.back().sent == 0) {
        dest.back().bytes += p.bytes;
        dest.back().frame_end = p.frame_end;
        return;
    }
    dest.push_back(std::move(p));
}

void Pipe::decide_fate() {
    bool hold = false;
    if (splitter_.opcode() == 1) {  // text frames carry the JSON messages
        for (const auto& [name, a] : active_)
            if (!a.imp.hold_stream.empty() && frame_of_channel(prefix_, a.imp.hold_stream))
                hold = true;
    }
    auto& dest = hold ? held_ : queue_;
    for (auto& p : staging_) dest.push_back(std::move(p));
    staging_.clear();
    fate_ = hold ? Fate::held : Fate::normal;
}

// Held frames (and a frame still being judged) join the queue, due now, in their order.
void Pipe::release_held(Clock::time_point now) {
    release_held_at_frame_end_ = false;
    for (auto* q : {&held_, &staging_}) {
        for (auto& p : *q) {
            p.release = std::max(last_release_, now);
            last_release_ = p.release;
            queue_.push_back(std::move(p));
        }
        q->clear();
    }
    if (fate_ != Fate::normal) fate_ = Fate::normal;
}

std::chrono::microseconds Pipe::draw() {
    std::int64_t total = 0;
    bool any = false;
    for (auto& [name, a] : active_) {  // by name: a fixed order
        const auto latency = a.imp.latency.count(), jitter = a.imp.jitter.count();
        if (latency == 0 && jitter == 0) continue;
        any = true;
        std::int64_t d = latency;
        if (jitter > 0)
            d +=
                static_cast<std::int64_t>(a.rng.below(static_cast<std::uint64_t>(2 * jitter + 1))) -
                jitter;
        total += std::max<std::int64_t>(0, d);
    }
    if (any) st_.schedules.record(key_, dir_, total);
    return microseconds(total);
}

// ---- writing ----

void Pipe::pump() {
    if (closed_ || writing_ || waiting_ || drained_ || stalled()) return;
    if (queue_.empty()) {
        if (read_eof_ && staging_.empty() && held_.empty()) {
            drained_ = true;
            owner_.pipe_drained(*this);
        }
        return;
    }
    const auto now = Clock::now();
    auto& front = queue_.front();
    const auto due = std::max(front.release, next_send_);
    if (due > now) return arm(due);
    std::size_t n = front.bytes.size() - front.sent;
    double bandwidth = 0;
    for (const auto& [name, a] : active_) {
        const auto& i = a.imp;
        if (i.slice > 0) n = std::min(n, i.slice);
        if (i.bandwidth > 0)
            bandwidth = bandwidth == 0 ? i.bandwidth : std::min(bandwidth, i.bandwidth);
        if (i.limit_data > 0) {
            const std::uint64_t used = bytes_written_ - a.bytes_base;
            if (used >= i.limit_data) return owner_.pipe_limit_reached(*this);
            n = static_cast<std::size_t>(std::min<std::uint64_t>(n, i.limit_data - used));
        }
    }
    // Paced in writes of about 10 ms of the rate, so the cap holds over short windows too.
    if (bandwidth > 0)
        n = std::min(n, std::max<std::size_t>(1, static_cast<std::size_t>(bandwidth / 100)));
    writing_ = true;
    asio::async_write(
        to_, asio::buffer(front.bytes.data() + front.sent, n),
        [this, keep = owner_.keep_alive(), now](const boost::system::error_code& ec,
                                                std::size_t w) { on_write(ec, w, now); });
}

void Pipe::on_write(const boost::system::error_code& ec, std::size_t n, Clock::time_point started) {
    writing_ = false;
    if (closed_) return;
    if (ec) return owner_.pipe_failed(*this, ec);
    (dir_ == Direction::upstream ? st_.bytes_up : st_.bytes_down) += n;
    bytes_written_ += n;
    held_bytes_ -= n;
    auto& front = queue_.front();
    front.sent += n;
    bool frame_done = false;
    if (front.sent == front.bytes.size()) {
        frame_done = front.frame_end;
        queue_.pop_front();
    }
    double bandwidth = 0;
    microseconds pause{0};
    for (const auto& [name, a] : active_) {
        if (a.imp.bandwidth > 0)
            bandwidth = bandwidth == 0 ? a.imp.bandwidth : std::min(bandwidth, a.imp.bandwidth);
        if (a.imp.slice > 0) pause = std::max(pause, a.imp.slice_delay);
    }
    if (bandwidth > 0)
        next_send_ =
            std::max(next_send_, started) + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(n / bandwidth));
    if (pause.count() > 0) next_send_ = std::max(next_send_, Clock::now() + pause);
    if (frame_done) ++frames_written_;
    for (const auto& [name, a] : active_) {
        if (frame_done && dir_ == Direction::downstream && a.imp.drop_after_frames > 0 &&
            frames_written_ - a.frames_base >= a.imp.drop_after_frames)
            return owner_.pipe_frames_reached(*this);
        if (a.imp.limit_data > 0 && bytes_written_ - a.bytes_base >= a.imp.limit_data)
            return owner_.pipe_limit_reached(*this);
    }
    if (read_paused_ && held_bytes_ < st_.options.max_held_bytes) {
        read_paused_ = false;
        do_read();
    }
    pump();
}

void Pipe::arm(Clock::time_point at) {
    waiting_ = true;
    timer_.expires_at(at);
    timer_.async_wait([this, keep = owner_.keep_alive()](const boost::system::error_code&) {
        waiting_ = false;
        if (!closed_) pump();
    });
}

}  // namespace streambed::proxy
