-- Read what the metrics need for many creators in one call (monitor/tables.py: creator_states).
--
-- One script instead of ~10 commands per creator: the client pays per command, Redis does not.
-- ARGV[1..4] = newest, at-24h and at-7d score bounds of the follower snapshots, and the horizon;
-- ARGV[5] = hash key suffixes read with HGETALL (posts, hour and minute buckets), comma-separated;
-- ARGV[6] = the follower zset suffix;
-- ARGV[7] = '' or the detectors' history as hour indices "b_lo,b_hi,u_lo,u_hi" (half-open): the
--   sums of neg and cm over [b_lo, b_hi), the sum of int over [u_lo, u_hi) and the first hour of
--   that range holding an int field. Summed here so a week of hour buckets never crosses the wire.
-- ARGV[8..] = creator key bases (monitor/keys.py).
-- Returns per creator: {meta, newest, at_24h, at_7d, after_24h, after_7d, history, hash 1, ...}:
-- snapshots as 0 or 1 members (after_*: the oldest one newer than the bound), hashes as flat
-- arrays, history as {neg, cm, int, first int hour or -1} (empty without ARGV[7]).

local now, at24, at7, horizon = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local suffixes = {}
for s in string.gmatch(ARGV[5], '[^,]+') do suffixes[#suffixes + 1] = s end
local FS = ARGV[6]
local HOUR, DAY = 3600000, 86400000
local floor = math.floor

local spec = {}
for n in string.gmatch(ARGV[7], '[^,]+') do spec[#spec + 1] = tonumber(n) end

-- hour fields grouped per day hash: {day, {field, ...}, {metric, ...}, {hour, ...}}
local plan = {}
if #spec == 4 then
  local by_day, order = {}, {}
  local function want(metric, h)
    local day = floor(h * HOUR / DAY)
    local g = by_day[day]
    if not g then g = {day, {}, {}, {}}; by_day[day] = g; order[#order + 1] = g end
    g[2][#g[2] + 1] = string.format('%s:%d', metric, h)
    g[3][#g[3] + 1] = metric
    g[4][#g[4] + 1] = h
  end
  for h = spec[1], spec[2] - 1 do want('neg', h); want('cm', h) end
  for h = spec[3], spec[4] - 1 do want('int', h) end
  plan = order
end

local function history(base)
  if #spec ~= 4 then return {} end
  local neg, cm, int, first = 0, 0, 0, -1
  for _, g in ipairs(plan) do
    local values = redis.call('HMGET', string.format('%s:h:%d', base, g[1]), unpack(g[2]))
    for j, v in ipairs(values) do
      if v then
        local m, n = g[3][j], tonumber(v)
        if m == 'neg' then neg = neg + n
        elseif m == 'cm' then cm = cm + n
        else
          int = int + n
          if first == -1 or g[4][j] < first then first = g[4][j] end
        end
      end
    end
  end
  return {neg, cm, int, first}
end

local out = {}
for i = 8, #ARGV do
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
  for _, s in ipairs(suffixes) do r[#r + 1] = redis.call('HGETALL', base .. s) end
  out[#out + 1] = r
end
return out
