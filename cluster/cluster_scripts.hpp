// cluster_scripts.hpp: the Lua scripts that make the lease and the publish atomic in Redis: a
// message is appended only by the lease holder, and only once (its n above the head).
#pragma once

namespace streambed::cluster {

// KEYS: lease. ARGV: node, ttl ms. Takes a free lease or keeps one this node holds: 1, else 0.
inline constexpr const char* kAcquireScript = R"lua(
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
)lua";

// KEYS: lease. ARGV: node. Deletes the lease if this node holds it (a clean shutdown).
inline constexpr const char* kReleaseScript = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

// KEYS: lease, stream, head. ARGV: node, n, maxlen, seq, type, time, bytes, feed channel.
// -1: the lease is not this node's (fenced: a source that lost it publishes nothing);
// 0: n is not above the head (already in the cluster: never appended twice); 1: appended, and
// published on the feed as lines — stream key, entry id, n, seq, type, time — then the bytes
// (follower.cpp reads it; the bytes, a JSON text, are the rest, whatever they hold).
inline constexpr const char* kPublishScript = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local head = tonumber(redis.call('GET', KEYS[3]) or '0')
if tonumber(ARGV[2]) <= head then return 0 end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*',
                      'n', ARGV[2], 's', ARGV[4], 'y', ARGV[5], 't', ARGV[6], 'b', ARGV[7])
redis.call('SET', KEYS[3], ARGV[2])
redis.call('PUBLISH', ARGV[8], KEYS[2] .. '\n' .. id .. '\n' .. ARGV[2] .. '\n' .. ARGV[4] ..
           '\n' .. ARGV[5] .. '\n' .. ARGV[6] .. '\n' .. ARGV[7])
return 1
)lua";

// KEYS: lease, head, checkpoint. ARGV: node, n, checkpoint. Keeps the world's checkpoint after
// its n-th message: -1 fenced (as above); 0 the head is below n (the cluster does not hold
// every message it covers: never kept); 1 kept.
inline constexpr const char* kCheckpointScript = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[2]) > head then return 0 end
redis.call('SET', KEYS[3], ARGV[3])
return 1
)lua";

}  // namespace streambed::cluster
