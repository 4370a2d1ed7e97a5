// subscription_set.cpp: subscribe and unsubscribe, resume and the paced catch-up.
#include "engine/subscription_set.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

#include "engine/epoch.hpp"

namespace streambed::engine {
namespace {

std::string unknown_channels(Endpoint endpoint, const std::vector<std::string>& names) {
    return fmt::format("unknown channel{} on {}: {}", names.size() > 1 ? "s" : "",
                       info(endpoint).path, fmt::join(names, ", "));
}

}  // namespace

ChannelSelection select_channels(const Hub& hub, Endpoint endpoint,
                                 const std::vector<std::string>& names) {
    ChannelSelection out;
    auto add_target = [&](Stream* s) {
        if (std::find(out.targets.begin(), out.targets.end(), s) == out.targets.end())
            out.targets.push_back(s);
    };
    for (const auto& name : names) {
        if (name == "*") {
            out.star = true;
            for (auto* s : hub.streams_of(endpoint)) add_target(s);
        } else if (Stream* s = hub.find(endpoint, name)) {
            add_target(s);
        } else {
            out.unknown.push_back(name);
            continue;
        }
        if (std::find(out.known.begin(), out.known.end(), name) == out.known.end())
            out.known.push_back(name);
    }
    return out;
}

void SubscriptionSet::add(Stream* stream, std::uint64_t last_seq) {
    subs_.push_back({stream, last_seq, sink_.enter(stream->id()), false});
}

void SubscriptionSet::remove(std::size_t i) {
    set_catching_up(subs_[i], false);
    sink_.leave(subs_[i].stream->id(), subs_[i].slot);
    subs_[i] = subs_.back();
    subs_.pop_back();
}

void SubscriptionSet::clear() {
    while (!subs_.empty()) remove(subs_.size() - 1);
    set_wildcard(false);
}

void SubscriptionSet::set_wildcard(bool on) {
    if (on == wildcard_) return;
    wildcard_ = on;
    sink_.follow_new_streams(on);
}

void SubscriptionSet::on_stream_added(Stream* stream) {
    if (wildcard_ && !find(stream->id())) add(stream, 0);
}

void SubscriptionSet::subscribe(const SubscribeRequest& req) {
    const auto sel = select_channels(hub_, endpoint_, req.channels);
    if (!sel.unknown.empty())
        sink_.send_error(ErrorCode::unknown_channel, unknown_channels(endpoint_, sel.unknown));
    if (sel.known.empty()) return;
    const auto fresh = std::count_if(sel.targets.begin(), sel.targets.end(),
                                     [&](Stream* s) { return !find(s->id()); });
    if (subs_.size() + static_cast<std::size_t>(fresh) > limits_.max_subscriptions) {
        return sink_.send_error(
            ErrorCode::too_many_subscriptions,
            fmt::format("at most {} subscriptions per connection", limits_.max_subscriptions));
    }
    if (sel.star) set_wildcard(true);

    struct Plan {
        Stream* stream;
        std::optional<std::uint64_t> since;
        Stream::Catchup first;  // the snapshot, or the first chunk of a resume
    };
    std::vector<Plan> plans;
    std::map<std::string, bool> recovered;
    const bool foreign = foreign_epoch(req.epoch, hub_.epoch());  // recovers nothing
    for (Stream* s : sel.targets) {
        std::optional<std::uint64_t> since;
        if (auto it = req.since.find(s->channel()); it != req.since.end()) since = it->second;
        if (find(s->id()) && !since) continue;  // already subscribed: nothing to send
        Plan p{s, since, s->catchup_for_epoch(since, foreign, kCatchupChunk)};
        if (since) recovered[s->channel()] = !p.first.reset;
        plans.push_back(std::move(p));
    }
    sink_.send_control(subscribed_json(sel.known, req.has_since ? &recovered : nullptr));
    for (auto& p : plans) {
        if (!find(p.stream->id())) add(p.stream, 0);
        Subscription& sub = *find(p.stream->id());
        if (p.first.reset)
            sink_.send_control(reset_json(p.stream->channel(), p.first.last_seq, p.first.reason));
        if (p.since && !p.first.reset) {
            // A resume: history is sent in order, paced by the queue (see refill()); live
            // messages of the stream wait in history until the resume has caught up.
            sub.last_seq = *p.since;
            set_catching_up(sub, *p.since < p.first.last_seq);
            continue;
        }
        for (auto& m : p.first.messages) sink_.send(m);
        sub.last_seq = std::max(sub.last_seq, p.first.last_seq);
        set_catching_up(sub, false);
    }
    refill();
}

void SubscriptionSet::unsubscribe(const SubscribeRequest& req) {
    std::vector<std::string> known, unknown;
    for (const auto& name : req.channels) {
        if (name == "*") {
            clear();
        } else if (Stream* s = hub_.find(endpoint_, name)) {
            for (std::size_t i = 0; i < subs_.size(); ++i)
                if (subs_[i].stream == s) remove(i);
        } else {
            unknown.push_back(name);
            continue;
        }
        known.push_back(name);
    }
    if (!unknown.empty())
        sink_.send_error(ErrorCode::unknown_channel, unknown_channels(endpoint_, unknown));
    if (!known.empty()) sink_.send_control(unsubscribed_json(known));
}

void SubscriptionSet::refill() {
    const std::size_t budget = limits_.refill_budget;
    for (std::size_t i = 0; i < subs_.size() && catching_up_ > 0; ++i) {
        Subscription& sub = subs_[i];
        while (sub.catching_up && sink_.open() && sink_.queued_bytes() < budget) {
            auto c = sub.stream->catchup(sub.last_seq, kCatchupChunk);
            if (c.reset) {  // the resume fell out of history while the client was slow
                sink_.send_control(reset_json(sub.stream->channel(), c.last_seq));
                for (auto& m : c.messages) sink_.send(m);
                sub.last_seq = c.last_seq;
                set_catching_up(sub, false);
                break;
            }
            bool full = false;
            for (auto& m : c.messages) {
                const std::size_t queued = sink_.queued_bytes();
                full = queued > 0 && queued + m->bytes.size() > budget;
                if (full) break;
                sink_.send(m);
                sub.last_seq = m->seq;
            }
            if (sub.last_seq >= c.last_seq) set_catching_up(sub, false);
            if (full) break;  // the next write completion refills
        }
    }
}

void SubscriptionSet::set_catching_up(Subscription& sub, bool on) {
    if (sub.catching_up == on) return;
    sub.catching_up = on;
    if (on)
        ++catching_up_;
    else
        --catching_up_;
}

}  // namespace streambed::engine
