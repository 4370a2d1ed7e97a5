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

// One call per batch of messages written together (a tick's, or a catching-up source's
// kHoldAtMost). KEYS: lease, head, then each message's stream. ARGV: node, maxlen, feed channel,
// then each message's n, seq, type, time, bytes. -1: the lease is not this node's (fenced: a
// source that lost it publishes nothing); else how many were appended: a message whose n is not
// above the head is in the cluster already (never appended twice). The appended ones go on the
// feed as one message, each as lines — stream key, entry id, n, seq, type, time, the bytes'
// length — then its bytes (follower.cpp reads it): one push to every node per batch. The head
// is kept as the caller's text: Lua's numbers print large ones in exponent form.
inline constexpr const char* kPublishScript = R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local head = redis.call('GET', KEYS[2]) or '0'
local top = tonumber(head)
local pushed, count = {}, 0
for k = 3, #KEYS do
  local a = 4 + (k - 3) * 5
  local n = tonumber(ARGV[a])
  if n > top then
    top, head = n, ARGV[a]
    local id = redis.call('XADD', KEYS[k], 'MAXLEN', '~', ARGV[2], '*', 'n', ARGV[a],
                          's', ARGV[a + 1], 'y', ARGV[a + 2], 't', ARGV[a + 3], 'b', ARGV[a + 4])
    count = count + 1
    pushed[count] = KEYS[k] .. '\n' .. id .. '\n' .. ARGV[a] .. '\n' .. ARGV[a + 1] .. '\n' ..
                    ARGV[a + 2] .. '\n' .. ARGV[a + 3] .. '\n' .. #ARGV[a + 4] .. '\n' .. ARGV[a + 4]
  end
end
if count > 0 then
  redis.call('SET', KEYS[2], head)
  redis.call('PUBLISH', ARGV[3], table.concat(pushed))
end
return count
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
