-- Read what the metrics need for many creators in one call (monitor/tables.py: creator_states).
--
-- One script instead of ~10 commands per creator: the client pays per command, Redis does not.
-- ARGV[1..4] = newest, at-24h and at-7d score bounds of the follower snapshots, and the horizon;
-- ARGV[5] = hash key suffixes read with HGETALL (posts, hour and minute buckets), comma-separated;
-- ARGV[6] = the follower zset suffix; ARGV[7..] = creator key bases (monitor/keys.py).
-- Returns per creator: {meta, newest, at_24h, at_7d, hash 1, hash 2, ...}; hashes as flat arrays.

local now, at24, at7, horizon = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local suffixes = {}
for s in string.gmatch(ARGV[5], '[^,]+') do suffixes[#suffixes + 1] = s end
local FS = ARGV[6]
local out = {}
for i = 7, #ARGV do
  local base = ARGV[i]
  local fs = base .. FS
  local r = {
    redis.call('HGETALL', base .. ':meta'),
    redis.call('ZREVRANGEBYSCORE', fs, now, horizon, 'LIMIT', 0, 1),
    redis.call('ZREVRANGEBYSCORE', fs, at24, horizon, 'LIMIT', 0, 1),
    redis.call('ZREVRANGEBYSCORE', fs, at7, horizon, 'LIMIT', 0, 1),
  }
  for _, s in ipairs(suffixes) do r[#r + 1] = redis.call('HGETALL', base .. s) end
  out[#out + 1] = r
end
return out
