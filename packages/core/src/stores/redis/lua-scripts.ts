import { luaScript } from './script-runner.js'

/**
 * The Lua scripts of the Redis stores. One script per operation, so each operation is one round
 * trip and atomic: `reserve` checks every counter and holds on all of them or none. A call carries
 * a batch of operations (the stores coalesce concurrent ones), applied in order.
 *
 * Keys: a hash per counter; per shard, one sorted set of the holds of unsettled leases (member:
 * the lease id and, per counter it holds on, a line `kind placement amount key`; score: expiry).
 * Holds past their expiry are charged by the next reserve or read script, so a crashed process's
 * reservations count against the quota (or, for a lease reserved with a last line `=r`, are
 * returned); the member then stays an hour, marked expired (a last line `!c` or `!`), so a late
 * commit replaces the expiry charge, once. A settle removes its member: a retried settle finds
 * none and charges nothing again.
 *
 * Counter hashes by window kind, each with `x`, the engine time until which the key is kept (so
 * most calls need no PEXPIRE):
 * - `f` (fixed: default and calendar): one hash per window, fields `u` (used) and `r` (reserved).
 * - `x` (flexi): one hash per identifier, fields `s` (window start), `e` (end), `u`, `r`.
 * - `r` (rolling): one hash per identifier, fields `u:<bucket start>` and `r:<bucket start>`,
 *   plus running totals `U` and `R` of the live buckets and `lo`, the oldest bucket they include.
 *   As the window moves, the buckets that leave it are subtracted from the totals and deleted (a
 *   bucket still holding a reservation keeps its `r:` field until the hold is returned), so a
 *   reservation reads two totals instead of summing every bucket.
 *
 * Each counter costs one HMGET and one HSET per operation; a lease adds one ZADD, and one ZREM
 * when settled. Time is the `now` argument (the engine's clock), never Redis `TIME`.
 */

const common = `
local GRACE = 60000
-- How long an expired lease is remembered, for its late commit.
local RETAIN = 3600000

local function text(number)
  return string.format('%.0f', number)
end

-- The new keep-until time of a key that must live until need (engine time), or nil when its
-- current one (x) is enough. slack: how much longer to keep it, so active keys are rarely touched.
local function extend(x, need, slack)
  if x ~= nil and need <= x then return nil end
  return need + slack
end

local function live_until(key, until_, now)
  if until_ ~= nil then redis.call('PEXPIRE', key, math.max(1, math.floor(until_ - now + GRACE))) end
end

-- Moves a rolling window's state (U, R, lo) to now: the buckets that left it leave its totals and
-- are deleted (a bucket's reserved field stays while it still holds).
local function advance(hkey, st, now, length, bucket)
  local first = math.floor((now - length) / bucket) * bucket -- the oldest live bucket
  if st.lo == nil then
    st.lo = first
    return
  end
  if st.lo >= first then return end
  if (first - st.lo) / bucket <= 8 then
    for start = st.lo, first - bucket, bucket do
      local counts = redis.call('HMGET', hkey, 'u:' .. text(start), 'r:' .. text(start))
      st.U, st.R = st.U - (tonumber(counts[1]) or 0), st.R - (tonumber(counts[2]) or 0)
      if counts[1] then redis.call('HDEL', hkey, 'u:' .. text(start)) end
      if counts[2] and tonumber(counts[2]) == 0 then redis.call('HDEL', hkey, 'r:' .. text(start)) end
    end
  else
    -- Idle for long: fewer calls to walk the fields than the buckets.
    local flat = redis.call('HGETALL', hkey)
    for i = 1, #flat, 2 do
      local field, value = flat[i], tonumber(flat[i + 1])
      local side, start = string.sub(field, 1, 2), tonumber(string.sub(field, 3))
      if (side == 'u:' or side == 'r:') and start < first then
        if start >= st.lo then
          if side == 'u:' then st.U = st.U - value else st.R = st.R - value end
        end
        if side == 'u:' or value == 0 then redis.call('HDEL', hkey, field) end
      end
    end
  end
  st.lo = first
end

-- A rolling window's state: totals, the oldest counted bucket, keep-until (nil: no key), and
-- bucket p's fields.
local function rolling(hkey, now, length, bucket, p)
  local f = redis.call('HMGET', hkey, 'U', 'R', 'lo', 'x', 'u:' .. p, 'r:' .. p)
  local st = { U = tonumber(f[1]) or 0, R = tonumber(f[2]) or 0, lo = tonumber(f[3]), x = tonumber(f[4]), u = tonumber(f[5]) or 0, r = tonumber(f[6]) or 0 }
  local lo = st.lo
  advance(hkey, st, now, length, bucket)
  st.moved = st.lo ~= lo
  return st
end

-- Saves the totals of a rolling window that moved without any other write (a read, a refusal, a
-- check): the buckets that left it are already deleted, so totals left unsaved would count them
-- for good. A window with no key has nothing to save (and must not be created without a lifetime).
local function save_moved(hkey, st)
  if st.moved and st.x ~= nil then redis.call('HSET', hkey, 'U', st.U, 'R', st.R, 'lo', text(st.lo)) end
end

-- Writes a rolling window's state back: totals, bucket p (a bucket out of the window only keeps
-- its reserved field, while it holds), and what moved.
local function save_rolling(hkey, st, p, until_)
  local fields = { 'U', st.U, 'R', st.R }
  if tonumber(p) >= st.lo then
    table.insert(fields, 'u:' .. p)
    table.insert(fields, st.u)
  end
  if st.r ~= 0 or tonumber(p) >= st.lo then
    table.insert(fields, 'r:' .. p)
    table.insert(fields, st.r)
  else
    redis.call('HDEL', hkey, 'r:' .. p)
  end
  if st.moved then
    table.insert(fields, 'lo')
    table.insert(fields, text(st.lo))
  end
  if until_ ~= nil then
    table.insert(fields, 'x')
    table.insert(fields, text(until_))
  end
  redis.call('HSET', hkey, unpack(fields))
end

-- Charges up to 100 expired holds to their counters (or returns them, for a lease reserved with a
-- last line \`=r\`); forgets expired leases remembered long enough.
local function expire_holds(holds, now)
  local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 100)
  for _, member in ipairs(expired) do
    if string.sub(member, -2) ~= '\\n!' and string.sub(member, -3) ~= '\\n!c' then
      local charge = string.sub(member, -3) ~= '\\n=r'
      for kind, placement, amount, hkey in string.gmatch(member, '\\n(%a) (%d+) (%d+) ([^\\n]+)') do
        amount = tonumber(amount)
        if kind == 'f' then
          if redis.call('EXISTS', hkey) == 1 then
            redis.call('HINCRBY', hkey, 'r', -amount)
            if charge then redis.call('HINCRBY', hkey, 'u', amount) end
          end
        elseif kind == 'x' then
          if redis.call('HGET', hkey, 's') == placement then
            redis.call('HINCRBY', hkey, 'r', -amount)
            if charge then redis.call('HINCRBY', hkey, 'u', amount) end
          end
        elseif redis.call('EXISTS', hkey) == 1 then
          local lo = tonumber(redis.call('HGET', hkey, 'lo'))
          local left = redis.call('HINCRBY', hkey, 'r:' .. placement, -amount)
          if lo ~= nil and tonumber(placement) >= lo then
            redis.call('HINCRBY', hkey, 'R', -amount)
            if charge then
              redis.call('HINCRBY', hkey, 'u:' .. placement, amount)
              redis.call('HINCRBY', hkey, 'U', amount)
            end
          elseif left == 0 then
            redis.call('HDEL', hkey, 'r:' .. placement)
          end
        end
      end
      -- Remembered, marked expired (\`!c\` charged, \`!\` returned), so a late commit is charged once:
      -- in full after a return, the difference to what expiry charged after a charge.
      if charge then
        redis.call('ZADD', holds, now + RETAIN, member .. '\\n!c')
      else
        redis.call('ZADD', holds, now + RETAIN, member .. '\\n!')
      end
    end
    redis.call('ZREM', holds, member)
  end
end

-- A rolling window's live buckets: per bucket start its tokens, and the newest bucket that holds
-- any. Walks every field: only for refusals and reads, never to admit.
local function rolling_buckets(hkey, now, length, bucket)
  local flat = redis.call('HGETALL', hkey)
  local horizon = now - length
  local totals, newest = {}, nil
  for i = 1, #flat, 2 do
    local field, value = flat[i], tonumber(flat[i + 1])
    local side, start = string.sub(field, 1, 2), tonumber(string.sub(field, 3))
    if (side == 'u:' or side == 'r:') and start + bucket > horizon then
      totals[start] = (totals[start] or 0) + value
      if value > 0 and (newest == nil or start > newest) then newest = start end
    end
  end
  return totals, newest
end

-- When a rolling window is back to zero: when its newest tokens leave it.
local function rolling_reset(hkey, now, length, bucket)
  local totals, newest = rolling_buckets(hkey, now, length, bucket)
  if newest then return newest + bucket + length, totals end
  return now, totals
end

-- The state of one counter: used, reserved, window start, reset time (nil for a rolling window:
-- it needs every bucket, see rolling_reset), placement (as text), and what the write needs.
local function view(kind, hkey, now, nowText, a, b)
  if kind == 'f' then
    local f = redis.call('HMGET', hkey, 'u', 'r', 'x')
    return { used = tonumber(f[1]) or 0, reserved = tonumber(f[2]) or 0, start = tonumber(a), reset = tonumber(b), placement = a, x = tonumber(f[3]) }
  elseif kind == 'x' then
    local f = redis.call('HMGET', hkey, 's', 'e', 'u', 'r', 'x')
    if f[1] and tonumber(f[2]) > now then
      return { used = tonumber(f[3]) or 0, reserved = tonumber(f[4]) or 0, start = tonumber(f[1]), reset = tonumber(f[2]), placement = f[1], x = tonumber(f[5]) }
    end
    return { used = 0, reserved = 0, start = now, reset = tonumber(a), placement = nowText, fresh = f[1] ~= nil, x = tonumber(f[5]) }
  end
  local length, bucket = tonumber(a), tonumber(b)
  local p = text(math.floor(now / bucket) * bucket)
  local st = rolling(hkey, now, length, bucket, p)
  if tonumber(p) < st.lo then
    -- A clock behind the one that moved this window: hold in its oldest counted bucket, so the
    -- hold is in the totals and leaves them when it is settled or expires.
    p = text(st.lo)
    local f = redis.call('HMGET', hkey, 'u:' .. p, 'r:' .. p)
    st.u, st.r = tonumber(f[1]) or 0, tonumber(f[2]) or 0
  end
  return { used = st.U, reserved = st.R, start = now - length, placement = p, st = st }
end
`

export const reserveScript = `${common}
-- KEYS: the shard's holds; then per reservation, per counter, its hash.
-- ARGV: reservation count, the earliest now (for expiring holds); then per reservation: now,
--   expiresAt, leaseId, counter count, and per counter six values: kind, limit ('' = none),
--   amount, hold ('1' or '0'), a, b
--   (f: a = window start, b = window end; x: a = end of a window opened now; r: a = length, b = bucket)
-- Returns per reservation: 1, a length, and per counter placement, used, reserved, window start,
--   reset; or 0, a length, and per refused counter index, used, reserved, window start, reset,
--   retry time.
local holds = KEYS[1]
expire_holds(holds, tonumber(ARGV[2]))

local function reserve_one(kbase, abase, out)
  local nowText = ARGV[abase + 1]
  local now, expiresAt, leaseId, n = tonumber(nowText), tonumber(ARGV[abase + 2]), ARGV[abase + 3], tonumber(ARGV[abase + 4])
  -- A lease whose holds are returned, not charged, at expiry: its member ends with \`=r\`.
  local release = string.sub(leaseId, -3) == '\\n=r'
  if release then leaseId = string.sub(leaseId, 1, -4) end
  local views, refusals = {}, {}
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 6
    local kind, limit, amount = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey = KEYS[kbase + i]
    local v = view(kind, hkey, now, nowText, a, b)
    views[i] = v
    if limit ~= '' and v.used + v.reserved + amount > tonumber(limit) then
      local retry, totals = v.reset, nil
      if kind == 'r' then
        local length, bucket = tonumber(a), tonumber(b)
        v.reset, totals = rolling_reset(hkey, now, length, bucket)
        retry = v.reset
        local starts = {}
        for start in pairs(totals) do table.insert(starts, start) end
        table.sort(starts)
        local remaining = v.used + v.reserved
        for _, start in ipairs(starts) do
          remaining = remaining - totals[start]
          if remaining + amount <= tonumber(limit) then
            retry = start + bucket + length
            break
          end
        end
      end
      for _, value in ipairs({ i - 1, v.used, v.reserved, v.start, v.reset, retry }) do table.insert(refusals, value) end
    end
  end
  if #refusals > 0 then
    for i = 1, n do
      if views[i].st then save_moved(KEYS[kbase + i], views[i].st) end
    end
    table.insert(out, 0)
    table.insert(out, #refusals)
    for _, value in ipairs(refusals) do table.insert(out, value) end
    return n
  end

  table.insert(out, 1)
  table.insert(out, 5 * n)
  local member, holding = leaseId, false
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 6
    local kind, amountText, hold = ARGV[base + 1], ARGV[base + 3], ARGV[base + 4] == '1'
    local amount = tonumber(amountText)
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey = KEYS[kbase + i]
    local v = views[i]
    if hold then
      holding = true
      v.reserved = v.reserved + amount
      if kind == 'f' then
        local until_ = extend(v.x, math.max(tonumber(b), expiresAt), 0)
        if until_ then redis.call('HSET', hkey, 'r', v.reserved, 'x', text(until_)) else redis.call('HSET', hkey, 'r', v.reserved) end
        live_until(hkey, until_, now)
      elseif kind == 'x' then
        local until_ = extend(v.x, math.max(v.reset, expiresAt), 0)
        if v.fresh then redis.call('DEL', hkey) end
        if until_ then
          redis.call('HSET', hkey, 's', v.placement, 'e', text(v.reset), 'u', v.used, 'r', v.reserved, 'x', text(until_))
        else
          redis.call('HSET', hkey, 's', v.placement, 'e', text(v.reset), 'u', v.used, 'r', v.reserved)
        end
        live_until(hkey, until_, now)
      else
        local length, bucket = tonumber(a), tonumber(b)
        local st = v.st
        st.R, st.r = v.reserved, st.r + amount
        local until_ = extend(st.x, math.max(now + length + bucket, expiresAt), length)
        save_rolling(hkey, st, v.placement, until_)
        live_until(hkey, until_, now)
        if amount > 0 then v.reset = tonumber(v.placement) + bucket + length end
      end
      if amount > 0 then member = member .. '\\n' .. kind .. ' ' .. v.placement .. ' ' .. amountText .. ' ' .. hkey end
    elseif kind == 'r' then
      save_moved(hkey, v.st)
    end
    if v.reset == nil then v.reset = rolling_reset(hkey, now, tonumber(a), tonumber(b)) end
    local o = #out
    out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = tonumber(v.placement), v.used, v.reserved, v.start, v.reset
  end
  -- Every lease that holds has a member, even for zero tokens: its settle finds it exactly once.
  if release then member = member .. '\\n=r' end
  if holding then redis.call('ZADD', holds, expiresAt, member) end
  return n
end

local out, kbase, abase, latest = {}, 1, 2, 0
for _ = 1, tonumber(ARGV[1]) do
  latest = math.max(latest, tonumber(ARGV[abase + 2]))
  local n = reserve_one(kbase, abase, out)
  kbase, abase = kbase + n, abase + 4 + 6 * n
end
-- The holds set lives as long as its latest hold, on Redis's clock (durations, not instants).
local ttl, needed = redis.call('PTTL', holds), latest - tonumber(ARGV[2]) + RETAIN + GRACE
if ttl >= 0 and ttl < needed then redis.call('PEXPIRE', holds, math.floor(needed)) end
if ttl == -1 then redis.call('PEXPIRE', holds, math.floor(needed)) end
return out
`

export const settleScript = `${common}
-- KEYS: the shard's holds; then per lease, per charge its hash.
-- ARGV: lease count; then per lease: now, leaseId, charge count, and per charge six values: kind,
--   placement, held, amount, a, b (as for reserve).
-- Returns per lease: -1 when it was already settled (a retry: nothing is charged again); else the
--   charge count, then per charge used before and after.
local holds = KEYS[1]

local function settle_one(kbase, abase, out)
  local now, leaseId, n = tonumber(ARGV[abase + 1]), ARGV[abase + 2], tonumber(ARGV[abase + 3])
  local member = leaseId
  for i = 1, n do
    local base = abase + 3 + (i - 1) * 6
    if tonumber(ARGV[base + 3]) > 0 then member = member .. '\\n' .. ARGV[base + 1] .. ' ' .. ARGV[base + 2] .. ' ' .. ARGV[base + 3] .. ' ' .. KEYS[kbase + i] end
  end
  -- Holding: return the holds and charge. Expired and charged: charge the difference. Expired and
  -- returned: charge only. None: settled before (a retry whose answer was lost), nothing again.
  local returned = redis.call('ZREM', holds, member) == 1 or redis.call('ZREM', holds, member .. '\\n=r') == 1
  local replacing = not returned and redis.call('ZREM', holds, member .. '\\n!c') == 1
  if not returned and not replacing and redis.call('ZREM', holds, member .. '\\n=r\\n!') == 0 and redis.call('ZREM', holds, member .. '\\n!') == 0 then
    table.insert(out, -1)
    return n
  end
  table.insert(out, n)
  for i = 1, n do
    local base = abase + 3 + (i - 1) * 6
    local kind, placement, held, amount = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey = KEYS[kbase + i]
    if replacing then amount = amount - held end
    if not returned then held = 0 end
    local before, live = 0, true
    if kind == 'f' then
      local f = redis.call('HMGET', hkey, 'u', 'r', 'x')
      before = tonumber(f[1]) or 0
      -- A window evicted before a late commit comes back as a new key: give it a lifetime.
      local until_ = nil
      if not f[3] then until_ = math.max(tonumber(b), now) end
      if until_ then
        redis.call('HSET', hkey, 'u', before + amount, 'r', (tonumber(f[2]) or 0) - held, 'x', text(until_))
      else
        redis.call('HSET', hkey, 'u', before + amount, 'r', (tonumber(f[2]) or 0) - held)
      end
      live_until(hkey, until_, now)
    elseif kind == 'x' then
      local f = redis.call('HMGET', hkey, 's', 'u', 'r')
      live = f[1] == placement
      -- A flexi window that has been replaced is over: its late charge cannot affect any limit.
      if live then
        before = tonumber(f[2]) or 0
        redis.call('HSET', hkey, 'u', before + amount, 'r', (tonumber(f[3]) or 0) - held)
      end
    else
      local length, bucket = tonumber(a), tonumber(b)
      local st = rolling(hkey, now, length, bucket, placement)
      live = tonumber(placement) >= st.lo
      st.r = st.r - held
      if live then
        before = st.U
        st.R, st.U, st.u = st.R - held, st.U + amount, st.u + amount
      end
      local until_ = nil
      if st.x == nil then until_ = now + length + bucket end
      save_rolling(hkey, st, placement, until_)
      live_until(hkey, until_, now)
    end
    if live then
      table.insert(out, before)
      table.insert(out, before + amount)
    else
      table.insert(out, 0)
      table.insert(out, 0)
    end
  end
  return n
end

local out, kbase, abase = {}, 1, 1
for _ = 1, tonumber(ARGV[1]) do
  local n = settle_one(kbase, abase, out)
  kbase, abase = kbase + n, abase + 3 + 6 * n
end
return out
`

export const readScript = `${common}
-- KEYS: the shard's holds, then per counter its hash. ARGV: now, counter count; then per counter
-- kind, a, b. Returns per counter used, reserved, window start, reset.
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_holds(KEYS[1], now)
local out = {}
for i = 1, n do
  local base = 2 + (i - 1) * 3
  local kind, a, b = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local hkey = KEYS[1 + i]
  local v = view(kind, hkey, now, ARGV[1], a, b)
  if kind == 'r' then
    save_moved(hkey, v.st)
    v.reset = rolling_reset(hkey, now, tonumber(a), tonumber(b))
  end
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4] = v.used, v.reserved, v.start, v.reset
end
return out
`

export const scripts = {
  reserve: luaScript('reserve', reserveScript, '96d45ceda371b09c2c7354059de20fbdf27a7dd8'),
  settle: luaScript('settle', settleScript, '8b7c6c427a287b92678371b13a830442fa4c11a4'),
  read: luaScript('read', readScript, '08869b526a07fdd6c4a719ff532ea1b6891fb9cb'),
} as const
