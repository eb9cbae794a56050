-- Write creators' metric documents and leaderboard entries (monitor/store/leaderboard.py:
-- Leaderboard.write_states, which builds these arguments).
--
-- Same result as writing every board every time, but only metrics whose value changed are
-- written: the values last written are kept in the creator's meta hash (`lbv`), and reading and
-- writing them in one atomic script keeps `lbv` equal to what the boards hold, whatever other
-- refreshes run at the same time.
-- Every document carries the state version it was computed from (`lbver`, read together with the
-- watermark before the state): one computed from a newer version is never overwritten, so two
-- writers racing (a leader hand-over) cannot step a document back.
-- The due set (monitor/store/keys.py: due) is moved on to the creator's next change only if its entry
-- is still the one the caller read: a batch that touched the creator meanwhile keeps it due.
-- ARGV[1] = leaderboard key prefix (`<prefix>lb:`), ARGV[2] = metric names, comma-separated;
-- ARGV[3] = the watermark the documents were computed at, ARGV[4] = the state version,
-- ARGV[5] = the due set; then 9 values per creator (named as in the loop below): cid, meta key,
-- doc key, json (the document; '' for an unknown creator: nothing to write), tier, community g,
-- sig (the metrics' values in order as sent to ZADD, '' for none, separated by \31), read (the
-- due score read; '' if not read from the due set: then the next change only ever moves the
-- entry earlier), nxt (the next change; '' for never).
-- Board names mirror monitor/store/keys.py: lb:<metric>, lb:<metric>:tier:<tier>, lb:<metric>:g:{<g>}.

local LB = ARGV[1]
local metrics = {}
for m in string.gmatch(ARGV[2], '[^,]+') do metrics[#metrics + 1] = m end
local SEP = '\31'
local NOW, VER, DUE = ARGV[3], ARGV[4], ARGV[5]
local ver = tonumber(VER)

local function split(s)
  local out, pos = {}, 1
  while true do
    local at = string.find(s, SEP, pos, true)
    if not at then out[#out + 1] = string.sub(s, pos); return out end
    out[#out + 1] = string.sub(s, pos, at - 1)
    pos = at + 1
  end
end

local function write(cid, meta, doc, json, tier, g, sig, cur)
  local old_tier, old_g, old_sig = cur[1] or '', cur[2] or '', cur[3] or ''
  local same_place = old_tier == tier and old_g == g
  if not (same_place and old_sig == sig) then
    local new = split(sig)
    local old = (same_place and old_sig ~= '') and split(old_sig) or {}
    for j, m in ipairs(metrics) do
      if old_tier ~= '' and old_tier ~= tier then
        redis.call('ZREM', LB .. m .. ':tier:' .. old_tier, cid)
      end
      if old_g ~= '' and old_g ~= g then
        redis.call('ZREM', LB .. m .. ':g:{' .. old_g .. '}', cid)
      end
      local v = new[j]
      if old[j] ~= v then
        local boards = {LB .. m}
        if tier ~= '' then boards[#boards + 1] = LB .. m .. ':tier:' .. tier end
        if g ~= '' then boards[#boards + 1] = LB .. m .. ':g:{' .. g .. '}' end
        for _, board in ipairs(boards) do
          if v == '' then redis.call('ZREM', board, cid) else redis.call('ZADD', board, v, cid) end
        end
      end
    end
  end
  redis.call('SET', doc, json)
  redis.call('HSET', meta, 'lbtier', tier, 'lbg', g, 'lbv', sig, 'lbver', VER, 'lbnow', NOW)
end

local skipped = 0
for i = 6, #ARGV, 9 do
  local cid, meta, doc, json, tier, g, sig, read, nxt = unpack(ARGV, i, i + 8)
  if json ~= '' then
    local cur = redis.call('HMGET', meta, 'lbtier', 'lbg', 'lbv', 'lbver')
    if (tonumber(cur[4] or '') or -1) <= ver then
      write(cid, meta, doc, json, tier, g, sig, cur)
    else
      skipped = skipped + 1
    end
  end
  if read == '' then
    if nxt ~= '' then redis.call('ZADD', DUE, 'LT', nxt, cid) end
  elseif tonumber(redis.call('ZSCORE', DUE, cid) or '') == tonumber(read) then
    if nxt == '' then redis.call('ZREM', DUE, cid) else redis.call('ZADD', DUE, nxt, cid) end
  end
end
return skipped
