// client_receive.cpp: what a fleet client does with what arrives — the welcome, data messages
// (seq accounting and lateness), control messages — and what it asks for: (re)subscriptions.
#include <nlohmann/json.hpp>

#include <array>
#include <charconv>

#include "fleet/client.hpp"
#include "fleet/fleet.hpp"

namespace streambed::fleet {
using json = nlohmann::json;

namespace {

using boost::system::error_code;

constexpr std::array<std::string_view, 7> kDataTypes = {
    "channel_update",   "block",          "transaction", "validator_update",
    "consensus_update", "network_status", "metrics"};

bool auto_subscribed(const std::string& endpoint) {
    return endpoint == "/ws/consensus" || endpoint == "/ws/network" || endpoint == "/ws/metrics";
}

// The string value after `key` at or after `from` (keys are in the engine's fixed order —
// type, channel, seq, time — so each search starts where the previous key ended and finds its
// key at once), or empty; `from` moves past it.
std::string_view string_after(std::string_view msg, std::string_view key, std::size_t& from) {
    const auto k = msg.find(key, from);
    if (k == std::string_view::npos) return {};
    const auto begin = k + key.size();
    const auto end = msg.find('"', begin);
    if (end == std::string_view::npos) return {};
    from = end + 1;
    return msg.substr(begin, end - begin);
}

std::string_view string_after(std::string_view msg, std::string_view key) {
    std::size_t from = 0;
    return string_after(msg, key, from);
}

bool int_after(std::string_view msg, std::string_view key, std::size_t& from, std::int64_t& out) {
    const auto k = msg.find(key, from);
    if (k == std::string_view::npos) return false;
    const char* p = msg.data() + k + key.size();
    const auto [end, ec] = std::from_chars(p, msg.data() + msg.size(), out);
    if (ec != std::errc()) return false;
    from = static_cast<std::size_t>(end - msg.data());
    return true;
}

// The end of the JSON object starting at `from` ('{'), strings and escapes respected; npos when
// it does not end.
std::size_t object_end(std::string_view s, std::size_t from) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = from; i < s.size(); ++i) {
        const char c = s[i];
        if (in_string) {
            if (c == '\\')
                ++i;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{') {
            ++depth;
        } else if (c == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return std::string_view::npos;
}

}  // namespace

bool Client::on_welcome(std::string_view text) {
    const auto w = json::parse(text, nullptr, false);
    if (!w.is_object() || w.value("type", "") != "welcome" || !w.contains("clock") ||
        !w["clock"].is_object())
        return false;
    const auto& clock = w["clock"];
    clock_time_ = clock.value("time", std::int64_t{0});
    clock_wall_ = clock.value("wall", std::int64_t{0});
    clock_scale_ = clock.value("scale", 0.0);
    heartbeat_ms_ = std::max<std::int64_t>(10, w.value("heartbeatMs", std::int64_t{15000}));
    const std::string previous_epoch = epoch_;
    if (w.contains("epoch") && w["epoch"].is_string()) epoch_ = w["epoch"].get<std::string>();
    if (auto_subscribed(spec_.endpoint) && w.contains("channels") && w["channels"].is_array())
        for (const auto& c : w["channels"])
            if (c.is_string()) stream(c.get<std::string>());

    state_ = State::live;
    if (in_handshake_) handshake_done();
    failures_ = 0;
    auto& t = ctx_.totals[group_];
    ++t.connects;
    if (lost_at_us_ != 0) {
        ++t.reconnects;
        t.reconnect_us.record(steady_now_us() - lost_at_us_);
        lost_at_us_ = 0;
    }
    (*ctx_.connected)[group_].fetch_add(1, std::memory_order_relaxed);
    if (polling_) {
        polling_ = false;  // back on push: the resume below continues where polling stopped
        poll_timer_.cancel();
    }
    subscribe_on_open(previous_epoch);
    arm_dead_timer();
    start_misbehaving();
    if (spec_.reading.mode == Reading::Mode::pausing) pause_cycle(false);
    return true;
}

// After the welcome: subscribe (explicit endpoints), resuming from the last seq of every stream
// read so far under the epoch it was read under.
void Client::subscribe_on_open(const std::string& previous_epoch) {
    const bool resuming =
        spec_.resume && std::any_of(streams_.begin(), streams_.end(),
                                    [](const StreamState& s) { return !s.seqs.empty(); });
    const std::int64_t now = subscribed_at_us_ = wall_now_us();
    for (auto& s : streams_) {
        s.fresh = true;
        s.live_since_us = now;
    }
    resumed_ = resuming;
    if (auto_subscribed(spec_.endpoint)) {
        if (!resuming) return;  // subscribed on open; the snapshot follows the welcome
        // The snapshot that follows the welcome is re-sent by the resume in order: it is set
        // aside until `subscribed`, so that it counts neither as a jump nor as a repeat.
        ignore_snapshot_ = true;
        json since = json::object(), channels = json::array();
        for (const auto& s : streams_) {
            channels.push_back(s.channel);
            if (!s.seqs.empty()) since[s.channel] = s.seqs.last();
        }
        json req{{"action", "subscribe"}, {"channels", channels}, {"since", since}};
        if (!previous_epoch.empty()) req["epoch"] = previous_epoch;
        send_frame(0x1, req.dump());
        return;
    }
    json req{{"action", "subscribe"}, {"channels", spec_.subscribe}};
    if (resuming) {
        json since = json::object();
        for (const auto& s : streams_)
            if (!s.seqs.empty()) since[s.channel] = s.seqs.last();
        req["since"] = since;
        if (!previous_epoch.empty()) req["epoch"] = previous_epoch;
    }
    send_frame(0x1, req.dump());
}

// Subscription churn: leave every stream, then come back (resuming when the group resumes).
void Client::churn() {
    if (state_ != State::live) return;
    json channels = json::array();
    if (auto_subscribed(spec_.endpoint)) {
        for (const auto& s : streams_) channels.push_back(s.channel);
    } else {
        channels = spec_.subscribe;
    }
    if (channels.empty()) return;
    send_frame(0x1, json{{"action", "unsubscribe"}, {"channels", channels}}.dump());
    json req{{"action", "subscribe"}, {"channels", channels}};
    resumed_ = spec_.resume;
    if (spec_.resume) {
        json since = json::object();
        for (const auto& s : streams_)
            if (!s.seqs.empty()) since[s.channel] = s.seqs.last();
        req["since"] = since;
        if (!epoch_.empty()) req["epoch"] = epoch_;
    }
    const std::int64_t now = subscribed_at_us_ = wall_now_us();
    for (auto& s : streams_) {
        s.fresh = true;
        s.live_since_us = now;
    }
    send_frame(0x1, req.dump());
}

void Client::pause_cycle(bool pausing) {
    const auto& r = spec_.reading;
    read_timer_.expires_after(ctx_.wall(pausing ? r.pause : r.every));
    read_timer_.async_wait([self = shared_from_this(), gen = gen_, pausing](error_code ec) {
        if (ec || gen != self->gen_ || self->state_ != State::live) return;
        self->paused_ = !pausing;
        if (pausing) self->do_read();
        self->pause_cycle(!pausing);
    });
}

void Client::on_text(std::string_view text, std::int64_t received_us) {
    auto& t = ctx_.totals[group_];
    ++t.frames;
    t.bytes += text.size();
    if (text.empty()) return;
    if (text.front() != '[') return on_message(text, received_us, false);
    // ?batch=1: an array of messages, in order.
    std::size_t pos = text.find('{');
    while (pos != std::string_view::npos) {
        const auto end = object_end(text, pos);
        if (end == std::string_view::npos) return;
        on_message(text.substr(pos, end - pos), received_us, false);
        pos = text.find('{', end);
    }
}

void Client::on_message(std::string_view msg, std::int64_t received_us, bool polled) {
    std::size_t at = 0;
    const auto type = string_after(msg, R"("type":")", at);
    if (std::find(kDataTypes.begin(), kDataTypes.end(), type) == kDataTypes.end())
        return on_control(type, msg);
    const auto channel = string_after(msg, R"("channel":")", at);
    std::int64_t seq = 0, time = 0;
    if (channel.empty() || !int_after(msg, R"("seq":)", at, seq) ||
        !int_after(msg, R"("time":)", at, time) || seq <= 0) {
        ++ctx_.totals[group_].errors;  // a data message without its envelope: counted as an error
        return;
    }
    on_data(channel, static_cast<std::uint64_t>(seq), time, received_us, polled);
}

void Client::on_data(std::string_view channel, std::uint64_t seq, std::int64_t time,
                     std::int64_t received_us, bool polled) {
    auto& t = ctx_.totals[group_];
    ++t.messages;
    if (polled) ++t.polled;
    if (ignore_snapshot_ && !polled) {
        ++t.snapshots_ignored;
        return;
    }
    auto& s = stream(channel);
    // A jump right after a (re)subscribe is a gap unless a reset declared it; inside a
    // connection it is the server's conflation of superseded states (never on transactions).
    HoleKind kind = HoleKind::gap;
    if (s.fresh)
        kind = s.declared ? HoleKind::declared : HoleKind::gap;
    else if (s.snapshot)
        kind = s.after_reset ? HoleKind::declared : HoleKind::unowed;
    else if (spec_.endpoint != "/ws/transactions" && !polled)
        kind = HoleKind::conflated;
    // The first message of a subscription that did not resume is the snapshot (or, after a
    // reset, the one that follows it); events between it and the next live one are not owed.
    if (kind == HoleKind::conflated && !s.seqs.empty() && seq > s.seqs.last() + 1)
        t.conflated += seq - s.seqs.last() - 1;
    s.snapshot = s.fresh && (!resumed_ || s.declared) && !polled;
    s.after_reset = s.declared;
    s.seqs.receive(seq, kind);
    s.fresh = false;
    s.declared = false;

    Bucket* b = ctx_.bucket_now();
    if (b) ++b->messages;
    if (polled || clock_scale_ <= 0) return;
    const engine::ClockAnchor clock{clock_time_, clock_wall_, clock_scale_};
    const double due = engine::due_wall_us(clock, time);
    // Due before the subscription began: history or snapshot, not live. `time` has millisecond
    // resolution, so a message due within the millisecond of the subscribe still counts as live.
    if (due + 1000.0 < static_cast<double>(s.live_since_us)) return;
    const auto late = engine::lateness_us(clock, time, received_us);
    t.lateness_us.record(late);
    if (b) b->lateness_us.record(late);
}

void Client::on_control(std::string_view type, std::string_view msg) {
    auto& t = ctx_.totals[group_];
    if (type == "subscribed") {
        ignore_snapshot_ = false;
    } else if (type == "reset") {
        ++t.resets;
        auto& s = stream(string_after(msg, R"("channel":")"));
        s.fresh = true;
        s.declared = true;
    } else if (type == "error") {
        ++t.errors;
    }
}

Client::StreamState& Client::stream(std::string_view channel) {
    for (auto& s : streams_)
        if (s.channel == channel) return s;
    StreamState s;
    s.channel = std::string(channel);
    s.live_since_us = subscribed_at_us_;
    streams_.push_back(std::move(s));
    return streams_.back();
}

const Client::StreamState* Client::find_stream(std::string_view channel) const {
    for (const auto& s : streams_)
        if (s.channel == channel) return &s;
    return nullptr;
}

bool Client::subscribes_to(std::string_view channel) const {
    if (auto_subscribed(spec_.endpoint)) return true;
    return std::any_of(spec_.subscribe.begin(), spec_.subscribe.end(),
                       [&](const std::string& c) { return c == "*" || c == channel; });
}

}  // namespace streambed::fleet
