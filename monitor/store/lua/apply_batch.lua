-- Apply one batch of validated events to the live tables, atomically.
--
-- Exactly-once under at-least-once delivery rests on two guards checked here, inside the same
-- atomic script that applies the updates:
--   1. a per-partition offset watermark: a redelivered record (offset <= stored) is skipped;
--   2. an event_id set per creator and event-time day: an upstream repeat is skipped.
-- Updates are aggregated per key in Lua tables and flushed once per field; per-creator metadata
-- (platform, community tag, newest follower count, last-seen times) and set memberships are
-- folded over the batch in Lua and written once per creator, which gives the same state as
-- writing them event by event because each is a maximum or a set union.
--
-- ARGV[1] = key prefix, ARGV[2] = JSON request: the batch (monitor/ingest/plan.py:
-- BatchPlan.request: tps, last, events, dead), the constants of monitor/store/apply.py
-- (TableStore._static: retention_ms, *_ttl_s, evidence_keep, step_ms, due_changed)
-- and wall_ms. An event's fields (the table at monitor/ingest/plan.py: _op is the definition):
--   k     kind: 'c' comment, 'p' post snapshot, 'a' follower (audience) snapshot
--   i     1-based index into tps and last (the record's topic-partition); o its offset
--   id    event_id; cr creator_id; pl platform; g community tag (if any)
--   t     event time (ms): a comment's creation, a snapshot's observation
--   s     comments: sentiment, compound x 10000 (<= -500 negative, >= 500 positive)
--   cid   comments: comment_id; post: comments and posts: post_id
--   ct    posts: creation time (ms); tot: interactions when observed
--   f     followers when observed (follower snapshots; posts if any)
--   b     brands mentioned (sorted; absent when none); x the evidence text (with b)
-- A dead letter (req.dead): i and o as above, code the rejection code.
-- Key names mirror monitor/store/keys.py.

local P = ARGV[1]
local req = cjson.decode(ARGV[2])
local RET = req.retention_ms
local TTL_DAY = req.day_ttl_s
local TTL_DEDUP = req.dedup_ttl_s
local TTL_POST = req.post_ttl_s
local EVIDENCE_KEEP = req.evidence_keep
local MINUTE, HOUR, DAY = 60000, 3600000, 86400000

local floor = math.floor
local function fmt(n) return string.format('%d', n) end

-- offsets of every partition in the batch
local tps = req.tps
local offs = {}
for i, tp in ipairs(tps) do
  local v = redis.call('HGET', P .. 'offsets', tp)
  offs[i] = v and tonumber(v) or -1
end

-- the watermark moves to the newest event of the batch that is not a redelivery
local wm = tonumber(redis.call('GET', P .. 'wm') or '0')
local fresh = {}
local pwm = {}
for n, e in ipairs(req.events) do
  if e.o > offs[e.i] then
    fresh[#fresh + 1] = e
    if e.t > wm then wm = e.t end
    if (pwm[e.i] or -1) < e.t then pwm[e.i] = e.t end
  end
end
local horizon = wm - RET
local STEP = req.step_ms
local first = tonumber(redis.call('GET', P .. 'first') or '1e18')
local first_before = first

-- aggregated increments: acc[key][field] = n, ttl[key] = seconds
local acc, ttl = {}, {}
local function add(key, field, n, t)
  local h = acc[key]
  if not h then h = {}; acc[key] = h; ttl[key] = t end
  h[field] = (h[field] or 0) + n
end

-- bucket names of one event time, formatted once per distinct time in the batch
local times = {}
local function when(t)
  local w = times[t]
  if not w then
    w = {day = fmt(floor(t / DAY)), hour = fmt(floor(t / HOUR)), minute = fmt(floor(t / MINUTE))}
    times[t] = w
  end
  return w
end

local function bump(base, metric, t, n)
  if n == 0 then return end
  local w = when(t)
  add(base .. ':h:' .. w.day, metric .. ':' .. w.hour, n, TTL_DAY)
  -- minute buckets for all of retention: a detector trailing ingest still reads its step's hour
  add(base .. ':m:' .. w.hour, metric .. ':' .. w.minute, n, TTL_DAY)
end

local expire_once = {}
local function touch_ttl(key, seconds)
  if not expire_once[key] then
    expire_once[key] = true
    redis.call('EXPIRE', key, seconds)
  end
end

local touched, touched_brands = {}, {}
local applied, dups, late = 0, 0, 0

-- An id inside a hash tag is escaped as monitor/store/keys.py: key_part does ('%' '{' '}' become
-- %25 %7B %7D), so no id can close its tag early and reach another creator's, post's or brand's
-- keys. Bases are built once per id and batch.
local ESC = {['%'] = '%25', ['{'] = '%7B', ['}'] = '%7D'}
local function tagged(kind, memo)
  return function(id)
    local b = memo[id]
    if not b then
      local part = id
      if string.find(id, '[%%{}]') then part = string.gsub(id, '[%%{}]', ESC) end
      b = P .. kind .. ':{' .. part .. '}'
      memo[id] = b
    end
    return b
  end
end
local cbase, gbase, bbase = tagged('c', {}), tagged('g', {}), tagged('b', {})

-- folded per creator / community over the batch, written at the end (see the header)
local meta_pl, meta_tag, meta_fol = {}, {}, {}  -- creator -> platform, {t, g}, {t, followers}
local seen_creator, seen_community, members, dirty_sets = {}, {}, {}, {}
local fs_trim = {}

local function set_meta(e)
  local cr = e.cr
  if not meta_pl[cr] then meta_pl[cr] = e.pl end
  if e.g then
    -- the community tag follows the newest tagged event (by event time): arrival order is moot
    local cur = meta_tag[cr]
    if not cur or e.t > cur[1] or (e.t == cur[1] and e.g > cur[2]) then meta_tag[cr] = {e.t, e.g} end
    local m = members[e.g]
    if not m then m = {}; members[e.g] = m end
    m[cr] = true
    if (seen_community[e.g] or -1) < e.t then seen_community[e.g] = e.t end
  end
  if (seen_creator[cr] or -1) < e.t then seen_creator[cr] = e.t end
end

local function audience(e, base, followers)
  local fs = base .. ':fs'
  -- one snapshot per observed time; of two that disagree the larger count wins, whatever came first
  local same = redis.call('ZRANGEBYSCORE', fs, e.t, e.t, 'LIMIT', 0, 1)
  if #same == 0 or tonumber(string.match(same[1], ':(%d+)$')) < followers then
    if #same > 0 then redis.call('ZREM', fs, same[1]) end
    redis.call('ZADD', fs, e.t, fmt(e.t) .. ':' .. fmt(followers))
  end
  -- trimming once per creator is enough: applied events are never older than the horizon
  fs_trim[fs] = true
  local cur = meta_fol[e.cr]
  if not cur or e.t > cur[1] or (e.t == cur[1] and followers > cur[2]) then
    meta_fol[e.cr] = {e.t, followers}
  end
end

local function mentions(e, base, t)
  if not e.b then return end
  for _, brand in ipairs(e.b) do
    local bb = bbase(brand)
    bump(base, 'mn:' .. brand, t, 1)
    if e.g then bump(gbase(e.g), 'mn:' .. brand, t, 1) end
    local w = when(t)
    local day, minute = w.day, w.minute
    add(bb .. ':d:' .. day, minute, 1, TTL_DAY)
    if e.s then
      -- comment mentions carry sentiment: per minute and per hour, for the negative-share detector
      local hour = w.hour
      add(bb .. ':d:' .. day, 'cn:' .. minute, 1, TTL_DAY)
      add(bb .. ':hd:' .. day, 'cn:' .. hour, 1, TTL_DAY)
      if e.s <= -500 then
        add(bb .. ':d:' .. day, 'neg:' .. minute, 1, TTL_DAY)
        add(bb .. ':hd:' .. day, 'neg:' .. hour, 1, TTL_DAY)
      end
    end
    add(bb .. ':cr:' .. day, e.cr, 1, TTL_DAY)
    if e.g then add(bb .. ':g:' .. day, e.g, 1, TTL_DAY) end
    redis.call('ZADD', bb .. ':creators', 'GT', t, e.cr)
    if e.x then
      -- the newest mentions overall (web view) and per event-time minute (alert evidence, so a
      -- replay racing ahead of detection cannot push a spike's own posts out)
      local doc = cjson.encode({
        post_id = e.post, comment_id = e.cid, creator_id = e.cr, text = e.x, t = t, kind = e.k})
      local per_minute = bb .. ':ev:' .. minute
      redis.call('ZADD', bb .. ':evidence', t, doc)
      redis.call('ZREMRANGEBYRANK', bb .. ':evidence', 0, -(EVIDENCE_KEEP + 1))
      redis.call('ZADD', per_minute, t, doc)
      redis.call('ZREMRANGEBYRANK', per_minute, 0, -4)
      touch_ttl(per_minute, TTL_DAY)
    end
    redis.call('ZADD', P .. 'brands', 'GT', t, brand)
    touched_brands[brand] = true
  end
end

local function comment(e, base)
  bump(base, 'cm', e.t, 1)
  bump(base, 'ss', e.t, e.s)
  local cls = 'neu'
  if e.s >= 500 then cls = 'pos' elseif e.s <= -500 then cls = 'neg' end
  bump(base, cls, e.t, 1)
  if e.g then
    local gb = gbase(e.g)
    bump(gb, 'cm', e.t, 1)
    bump(gb, 'ss', e.t, e.s)
    bump(gb, cls, e.t, 1)
  end
end

local function post(e, base)
  local posts = base .. ':posts'
  local cur = redis.call('HGET', posts, e.post)
  local record = fmt(e.ct) .. '|' .. fmt(e.t) .. '|' .. fmt(e.tot)
  redis.call('ZADD', base .. ':pobs', 'GT', e.t, e.post)
  if not cur then
    redis.call('HSET', posts, e.post, record)
    redis.call('ZADD', base .. ':pct', e.ct, e.post)
    if e.g then bump(gbase(e.g), 'po', e.ct, 1) end
    -- a post counts as a mention once, at its creation time, whichever snapshot came first
    mentions(e, base, e.ct)
    -- forget posts last observed before retention, with their snapshots
    local old = redis.call('ZRANGEBYSCORE', base .. ':pobs', '-inf', '(' .. fmt(horizon - DAY))
    for _, p in ipairs(old) do
      redis.call('HDEL', posts, p)
      redis.call('ZREM', base .. ':pct', p)
      redis.call('ZREM', base .. ':pobs', p)
      redis.call('DEL', base .. ':ps:' .. p)
    end
  else
    local obs, tot = string.match(cur, '^[^|]+|([^|]+)|([^|]+)$')
    obs, tot = tonumber(obs), tonumber(tot)
    if e.t > obs or (e.t == obs and e.tot > tot) then redis.call('HSET', posts, e.post, record) end
  end
  -- interactions: the difference to the previous snapshot (by observed time) lands in this
  -- snapshot's bucket; inserting between two snapshots re-splits the later one's difference.
  local ps = base .. ':ps:' .. e.post
  -- snapshots mostly arrive in order: the newest one alone tells whether this one is the newest
  local prev, nxt = redis.call('ZREVRANGE', ps, 0, 0), {}
  if #prev > 0 then
    local newest = tonumber(string.match(prev[1], '^(%-?%d+):'))
    if newest == e.t then return end
    if newest > e.t then
      if #redis.call('ZRANGEBYSCORE', ps, e.t, e.t, 'LIMIT', 0, 1) > 0 then return end
      prev = redis.call('ZREVRANGEBYSCORE', ps, '(' .. fmt(e.t), '-inf', 'LIMIT', 0, 1)
      nxt = redis.call('ZRANGEBYSCORE', ps, '(' .. fmt(e.t), '+inf', 'LIMIT', 0, 1)
    end
  end
  local ptot = 0
  if #prev > 0 then ptot = tonumber(string.match(prev[1], ':(%-?%d+)$')) end
  local gb = e.g and gbase(e.g)
  bump(base, 'int', e.t, e.tot - ptot)
  if gb then bump(gb, 'int', e.t, e.tot - ptot) end
  if #nxt > 0 then
    local nt = tonumber(string.match(nxt[1], '^(%-?%d+):'))
    bump(base, 'int', nt, ptot - e.tot)
    if gb then bump(gb, 'int', nt, ptot - e.tot) end
  end
  redis.call('ZADD', ps, e.t, fmt(e.t) .. ':' .. fmt(e.tot))
  touch_ttl(ps, TTL_POST)
end

for _, e in ipairs(fresh) do
  local base = cbase(e.cr)
  local dd = base .. ':dd:' .. fmt(floor(e.t / DAY))
  if redis.call('SADD', dd, e.id) == 0 then
    dups = dups + 1
  else
    touch_ttl(dd, TTL_DEDUP)
    touched[e.cr] = true
    if e.t < horizon then
      late = late + 1
      redis.call('HINCRBY', base .. ':meta', 'late', 1)
    else
      applied = applied + 1
      set_meta(e)
      -- detectors re-judge the creators active in each step once the step is closed
      local step = floor(e.t / STEP)
      local d = dirty_sets[step]
      if not d then d = {}; dirty_sets[step] = d end
      d[e.cr] = true
      if e.t < first then first = e.t end
      if e.k == 'c' then
        comment(e, base)
        mentions(e, base, e.t)
      elseif e.k == 'p' then
        post(e, base)
        if e.f then audience(e, base, e.f) end
      else
        audience(e, base, e.f)
      end
    end
  end
end

-- variadic commands in slices (Lua's unpack has a stack limit)
local function variadic(cmd, key, opt, args)
  local slice = 1000
  for i = 1, #args, slice do
    local part = {}
    for j = i, math.min(i + slice - 1, #args) do part[#part + 1] = args[j] end
    if opt then
      redis.call(cmd, key, opt, unpack(part))
    else
      redis.call(cmd, key, unpack(part))
    end
  end
end

for cr, pl in pairs(meta_pl) do
  local meta = cbase(cr) .. ':meta'
  local cur = redis.call('HMGET', meta, 'platform', 'gts', 'community', 'fobs', 'followers')
  local set = {}
  if not cur[1] then set[#set + 1] = 'platform'; set[#set + 1] = pl end
  local tag = meta_tag[cr]
  if tag then
    local gts = tonumber(cur[2] or '-1')
    if tag[1] > gts or (tag[1] == gts and tag[2] > cur[3]) then
      set[#set + 1] = 'community'; set[#set + 1] = tag[2]
      set[#set + 1] = 'gts'; set[#set + 1] = fmt(tag[1])
    end
  end
  local fol = meta_fol[cr]
  if fol then
    local fobs = tonumber(cur[4] or '-1')
    if fol[1] > fobs or (fol[1] == fobs and fol[2] > tonumber(cur[5])) then
      set[#set + 1] = 'followers'; set[#set + 1] = fmt(fol[2])
      set[#set + 1] = 'fobs'; set[#set + 1] = fmt(fol[1])
    end
  end
  if #set > 0 then redis.call('HSET', meta, unpack(set)) end
end
for fs in pairs(fs_trim) do
  redis.call('ZREMRANGEBYSCORE', fs, '-inf', '(' .. fmt(horizon - DAY))
end
for g, crs in pairs(members) do
  local list = {}
  for cr in pairs(crs) do list[#list + 1] = cr end
  variadic('SADD', gbase(g) .. ':members', nil, list)
end
local pairs_t = {}
for g, t in pairs(seen_community) do pairs_t[#pairs_t + 1] = t; pairs_t[#pairs_t + 1] = g end
if #pairs_t > 0 then variadic('ZADD', P .. 'communities', 'GT', pairs_t) end
pairs_t = {}
for cr, t in pairs(seen_creator) do pairs_t[#pairs_t + 1] = t; pairs_t[#pairs_t + 1] = cr end
if #pairs_t > 0 then variadic('ZADD', P .. 'creators', 'GT', pairs_t) end
for step, crs in pairs(dirty_sets) do
  local list = {}
  for cr in pairs(crs) do list[#list + 1] = cr end
  local key = P .. 'dirty:' .. fmt(step)
  variadic('SADD', key, nil, list)
  touch_ttl(key, TTL_DAY)
end

-- Counts are at most 2^53 - 1 each (schemas/events.py), but many posts of one creator can sum past
-- what a double holds exactly (and past int64, where HINCRBY would fail after the writes above).
-- A bucket is kept within +-SAFE: one that would pass it stays at the bound, counted as overflow.
local SAFE = 9007199254740991
local overflow = 0
for key, fields in pairs(acc) do
  for field, n in pairs(fields) do
    if n ~= 0 then
      local v = n
      if n >= -SAFE and n <= SAFE then v = redis.call('HINCRBY', key, field, fmt(n)) end
      if v > SAFE or v < -SAFE then
        redis.call('HSET', key, field, v > 0 and fmt(SAFE) or fmt(-SAFE))
        overflow = overflow + 1
      end
    end
  end
  touch_ttl(key, ttl[key])
end

-- record progress last: offsets and per-partition event-time watermarks
for i, tp in ipairs(tps) do
  if req.last[i] > offs[i] then redis.call('HSET', P .. 'offsets', tp, fmt(req.last[i])) end
  if pwm[i] then
    local cur = tonumber(redis.call('HGET', P .. 'pwm', tp) or '-1')
    if pwm[i] > cur then redis.call('HSET', P .. 'pwm', tp, fmt(pwm[i])) end
  end
  redis.call('HSET', P .. 'pwall', tp, fmt(req.wall_ms))
end
redis.call('SET', P .. 'wm', fmt(wm))
if first < first_before then redis.call('SET', P .. 'first', fmt(first)) end
-- dead letters are counted per reason under the same offset guard, so redelivery never recounts
for _, d in ipairs(req.dead) do
  if d.o > offs[d.i] then redis.call('HINCRBY', P .. 'deadletters', d.code, 1) end
end
if applied > 0 then redis.call('HINCRBY', P .. 'stats', 'applied', applied) end
if dups > 0 then redis.call('HINCRBY', P .. 'stats', 'duplicates', dups) end
if late > 0 then redis.call('HINCRBY', P .. 'stats', 'late', late) end
if overflow > 0 then redis.call('HINCRBY', P .. 'stats', 'overflow', overflow) end

local tl, bl = {}, {}
for cr in pairs(touched) do tl[#tl + 1] = cr end
for b in pairs(touched_brands) do bl[#bl + 1] = b end
-- the touched creators' metric documents are due (monitor/store/keys.py: due), newest version last
if #tl > 0 then
  local score = fmt(redis.call('INCR', P .. 'lb:ver') + req.due_changed)
  local args = {}
  for _, cr in ipairs(tl) do args[#args + 1] = score; args[#args + 1] = cr end
  variadic('ZADD', P .. 'lb:due', nil, args)
end
return cjson.encode({wm = wm, applied = applied, duplicates = dups, late = late,
                     creators = tl, brands = bl})
