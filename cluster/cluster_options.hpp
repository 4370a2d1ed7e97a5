// cluster_options.hpp: what a node needs to join a cluster — the Redis address, the cluster's
// name, the lease and timing — each default next to its reason; and the cluster's Redis keys.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>

#include "cluster/redis_connection.hpp"
#include "engine/catalog.hpp"

namespace streambed::cluster {

struct ClusterOptions {
    RedisAddress redis;
    // The prefix of every key: several clusters can share one Redis.
    std::string name = "streambed";
    // This node's name in the lease; empty: HOST-PID-RANDOM, unique across restarts.
    std::string node;
    // The source lease. A dead source's successor takes over at most this long after the last
    // renewal, plus one check; it is renewed every third of it, so two renewals may be lost to
    // a slow Redis or a loaded machine before it lapses (and a lapse only moves the source).
    std::chrono::milliseconds lease_ttl{1000};
    // Lease rounds run every third of the TTL, and at least this often: a lease released by a
    // clean shutdown is taken within it, however long the TTL.
    std::chrono::milliseconds lease_round_max{500};
    // How long a node waits between two lease rounds.
    std::chrono::milliseconds lease_round_every() const {
        return std::min<std::chrono::milliseconds>(lease_ttl / 3, lease_round_max);
    }
    // Each stream's history in Redis: the engine's (docs/protocol.md), so a node started late
    // loads what a node up since the start holds. `MAXLEN ~` keeps at least this many.
    std::size_t history = 1000;
    // A command slower than this counts as Redis lost: the node reports DOWN and reconnects.
    std::chrono::milliseconds command_timeout{1000};
    // How long the follower's subscription may stay silent before it asks PING; a PING not
    // answered within it counts as Redis lost, as a slow command does (command_timeout). A
    // Redis that stops answering is noticed within 1 to 2 s of its last word (the lease
    // round's command timeout usually says so first).
    std::chrono::milliseconds follow_quiet{1000};
    // Simulated time between two checkpoints of the world in Redis: a successor regenerates at
    // most this much (a simulated minute is ~2,400 messages at the defaults, some 20 ms here),
    // however old the world; each costs one SET of a few KB.
    std::chrono::milliseconds checkpoint_every{60'000};
    // Reconnection backoff: doubles from the first to the last.
    std::chrono::milliseconds backoff_first{100};
    std::chrono::milliseconds backoff_last{2000};
};

// Every key carries the cluster's name as a hash tag, so all of them live in one slot of a
// Redis Cluster: the publish script touches several keys at once.
struct ClusterKeys {
    explicit ClusterKeys(const std::string& name) : prefix("{" + name + "}:") {}
    std::string prefix;
    std::string world() const { return prefix + "world"; }  // the world all nodes serve (JSON)
    std::string lease() const { return prefix + "lease"; }  // the source node's name, with a TTL
    std::string head() const { return prefix + "head"; }    // n of the newest published message
    // The newest checkpoint of the world (JSON; cluster/source_publisher.hpp), at most the head.
    std::string checkpoint() const { return prefix + "checkpoint"; }
    // The Pub/Sub channel every published batch also goes to (the followers' feed). Channels
    // are not per database, so the database is in the name: two clusters of one name in two
    // databases do not hear each other. "feed2": the batches' format (cluster_scripts.hpp); a
    // node of the per-message format ("feed") would read a batch's bytes wrong.
    std::string feed(int db) const { return prefix + "feed2:" + std::to_string(db); }
    std::string stream(engine::Endpoint e, std::string_view channel) const {
        return prefix + "stream:" + std::string(engine::info(e).name) + ":" + std::string(channel);
    }
};

}  // namespace streambed::cluster
