-- Read what the metrics need for many creators in one call (monitor/store/creators.py:
-- Tables.creator_states; arguments and reply in monitor/store/states.py).
--
-- One script instead of ~10 commands per creator: the client pays per command, Redis does not.
-- ARGV[1..4] = newest, at-24h and at-7d score bounds of the follower snapshots, and the horizon;
-- ARGV[5] = hash key suffixes read with HGETALL in three groups separated by ';' (the posts hash;
--   the hour hashes, one per day; the minute hashes, one per hour), each comma-separated;
-- ARGV[6] = the follower zset suffix;
-- ARGV[7] = '' or the detectors' history as hour indices "b_lo,b_hi" (half-open): the sums of
--   neg and cm over [b_lo, b_hi). Summed here so a day of hour buckets never crosses the wire.
-- ARGV[8] = '' or "h_lo,h_hi,m_lo,m_hi": return the hour hashes summed over the window [h_lo, h_hi]
--   and the minute hashes over [m_lo, m_hi] (bucket indices), as one hash of one field per metric
--   at the window's oldest bucket holding data. Every window sum, and the oldest bucket, stay
--   what the buckets give; a few fields cross the wire instead of hundreds.
--   The posts hash likewise becomes {count, interactions, oldest created (or -1)} for posts
--   created in (now - 24 h, now], then the same for 7 d (monitor/core/metrics.py: post_windows).
-- ARGV[9..] = creator key bases (monitor/store/keys.py).
-- Returns one array per creator, in the field order of monitor/store/states.py: StateReply:
--   1 meta       the meta hash
--   2 newest     the newest follower snapshot at or before now (0 or 1 members)
--   3 at_24h     the newest one at or before now - 24 h
--   4 at_7d      the newest one at or before now - 7 d
--   5 after_24h  the oldest one after now - 24 h
--   6 after_7d   the oldest one after now - 7 d
--   7 history    {neg, cm} (states.py: HistoryReply); {} without ARGV[7]
--   8 posts      the posts hash; with ARGV[8] the six post sums above (states.py: PostSumsReply)
--   9 hours      the hour hashes; with ARGV[8] one hash, the 24 h sums
--  10 minutes    the minute hashes; with ARGV[8] one hash, the 1 h sums
-- Hashes come as flat arrays (field, value, ...), snapshots as "observed_ms:followers" members.

local now, at24, at7, horizon = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local groups = {}
for g in string.gmatch(ARGV[5] .. ';', '([^;]*);') do
  local list = {}
  for s in string.gmatch(g, '[^,]+') do list[#list + 1] = s end
  groups[#groups + 1] = list
end
local POSTS, HOURS, MINUTES = groups[1][1], groups[2], groups[3]
local FS = ARGV[6]
local HOUR, DAY = 3600000, 86400000
local floor = math.floor

local spec = {}
for n in string.gmatch(ARGV[7], '[^,]+') do spec[#spec + 1] = tonumber(n) end

-- hour fields grouped per day hash: {day, {field, ...}, {metric, ...}}
local plan = {}
if #spec == 2 then
  local by_day, order = {}, {}
  local function want(metric, h)
    local day = floor(h * HOUR / DAY)
    local g = by_day[day]
    if not g then g = {day, {}, {}}; by_day[day] = g; order[#order + 1] = g end
    g[2][#g[2] + 1] = string.format('%s:%d', metric, h)
    g[3][#g[3] + 1] = metric
  end
  for h = spec[1], spec[2] - 1 do want('neg', h); want('cm', h) end
  plan = order
end

local function history(base)
  if #spec ~= 2 then return {} end
  local neg, cm = 0, 0
  for _, g in ipairs(plan) do
    local values = redis.call('HMGET', string.format('%s:h:%d', base, g[1]), unpack(g[2]))
    for j, v in ipairs(values) do
      if v then
        if g[3][j] == 'neg' then neg = neg + tonumber(v) else cm = cm + tonumber(v) end
      end
    end
  end
  return {neg, cm}
end

local win = {}
for n in string.gmatch(ARGV[8], '[^,]+') do win[#win + 1] = tonumber(n) end

-- in-window fields of several hashes summed per metric, keyed at the oldest index seen
local function summed(base, hashes, lo, hi)
  local sums, order, oldest = {}, {}, nil
  for _, suffix in ipairs(hashes) do
    local flat = redis.call('HGETALL', base .. suffix)
    for j = 1, #flat, 2 do
      local metric, idx = string.match(flat[j], '^(.*):(%-?%d+)$')
      idx = tonumber(idx)
      if idx and idx >= lo and idx <= hi then
        if not sums[metric] then sums[metric] = 0; order[#order + 1] = metric end
        sums[metric] = sums[metric] + tonumber(flat[j + 1])
        if not oldest or idx < oldest then oldest = idx end
      end
    end
  end
  local out = {}
  for _, metric in ipairs(order) do
    out[#out + 1] = string.format('%s:%d', metric, oldest)
    out[#out + 1] = sums[metric]
  end
  return out
end

local now_n = tonumber(now)
local function post_sums(base)
  local flat = redis.call('HGETALL', base .. POSTS)
  local c24, i24, o24, c7, i7, o7 = 0, 0, -1, 0, 0, -1
  for j = 2, #flat, 2 do
    local created, _, total = string.match(flat[j], '^(%-?%d+)|(%-?%d+)|(%-?%d+)$')
    created, total = tonumber(created), tonumber(total)
    if created and created <= now_n and created > now_n - 7 * DAY then
      c7, i7 = c7 + 1, i7 + total
      if o7 == -1 or created < o7 then o7 = created end
      if created > now_n - DAY then
        c24, i24 = c24 + 1, i24 + total
        if o24 == -1 or created < o24 then o24 = created end
      end
    end
  end
  return {c24, i24, o24, c7, i7, o7}
end

local out = {}
for i = 9, #ARGV do
  local base = ARGV[i]
  local fs = base .. FS
  local r = {
    redis.call('HGETALL', base .. ':meta'),
    redis.call('ZREVRANGEBYSCORE', fs, now, horizon, 'LIMIT', 0, 1),
    redis.call('ZREVRANGEBYSCORE', fs, at24, horizon, 'LIMIT', 0, 1),
    redis.call('ZREVRANGEBYSCORE', fs, at7, horizon, 'LIMIT', 0, 1),
    redis.call('ZRANGEBYSCORE', fs, '(' .. at24, '+inf', 'LIMIT', 0, 1),
    redis.call('ZRANGEBYSCORE', fs, '(' .. at7, '+inf', 'LIMIT', 0, 1),
    history(base),
  }
  if #win == 4 then
    r[#r + 1] = post_sums(base)
    r[#r + 1] = {summed(base, HOURS, win[1], win[2])}
    r[#r + 1] = {summed(base, MINUTES, win[3], win[4])}
  else
    r[#r + 1] = redis.call('HGETALL', base .. POSTS)
    local hours, minutes = {}, {}
    for _, s in ipairs(HOURS) do hours[#hours + 1] = redis.call('HGETALL', base .. s) end
    for _, s in ipairs(MINUTES) do minutes[#minutes + 1] = redis.call('HGETALL', base .. s) end
    r[#r + 1] = hours
    r[#r + 1] = minutes
  end
  out[#out + 1] = r
end
return out
