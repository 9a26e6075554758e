import { createHash } from 'node:crypto'

/**
 * The Lua scripts of the Redis stores. One script per operation, so each operation is one round
 * trip and atomic: `reserve` checks every counter and holds on all of them or none.
 *
 * Per counter there are two keys: a hash with the counts, and a sorted set of the holds of
 * unsettled leases (member `leaseId|placement|amount`, score = expiry). Holds past their expiry
 * are returned at the next access of their counter, so a crashed process's reservations come
 * back on their own.
 *
 * Counter hashes by window kind:
 * - `f` (fixed: default and calendar): one hash per window, fields `u` (used) and `r` (reserved).
 * - `x` (flexi): one hash per identifier, fields `s` (window start), `e` (end), `u`, `r`.
 * - `r` (rolling): one hash per identifier, fields `u:<bucket start>` and `r:<bucket start>`,
 *   plus running totals `U` and `R` of the live buckets and `lo`, the oldest bucket they include.
 *   As the window moves, the buckets that leave it are subtracted from the totals and deleted (a
 *   bucket still holding a reservation keeps its `r:` field until the hold is returned), so a
 *   reservation reads two totals instead of summing every bucket.
 *
 * Time is the `now` argument (the engine's clock), never Redis `TIME`.
 */

const common = `
local GRACE = 60000

-- Key lifetimes are durations, not instants: they run on Redis's clock, while window times come
-- from the engine's (which tests fake). Each hold sets a lifetime at least as long as the last
-- one did (leases share one TTL), so setting it unconditionally never shortens it.
local function live_for(key, duration)
  redis.call('PEXPIRE', key, math.max(1, math.floor(duration)))
end

local function field_of(kind, placement)
  if kind == 'r' then return 'r:' .. placement end
  return 'r'
end

local function text(number)
  return string.format('%.0f', number)
end

-- Moves a rolling window to now: the buckets that left it leave its totals and are deleted (a
-- bucket's reserved field stays while it still holds). Returns used, reserved (live buckets), lo.
local function advance(hkey, now, length, bucket)
  local state = redis.call('HMGET', hkey, 'U', 'R', 'lo')
  local used, reserved, lo = tonumber(state[1]) or 0, tonumber(state[2]) or 0, tonumber(state[3])
  local first = math.floor((now - length) / bucket) * bucket -- the oldest live bucket
  if lo == nil then
    redis.call('HSET', hkey, 'lo', text(first))
    return used, reserved, first
  end
  if lo >= first then return used, reserved, lo end
  if (first - lo) / bucket <= 8 then
    for start = lo, first - bucket, bucket do
      local counts = redis.call('HMGET', hkey, 'u:' .. text(start), 'r:' .. text(start))
      local u, r = tonumber(counts[1]) or 0, tonumber(counts[2]) or 0
      used, reserved = used - u, reserved - r
      if counts[1] then redis.call('HDEL', hkey, 'u:' .. text(start)) end
      if counts[2] and r == 0 then redis.call('HDEL', hkey, 'r:' .. text(start)) end
    end
  else
    -- Idle for long: fewer calls to walk the fields than the buckets.
    local flat = redis.call('HGETALL', hkey)
    for i = 1, #flat, 2 do
      local field, value = flat[i], tonumber(flat[i + 1])
      local side, start = string.sub(field, 1, 2), tonumber(string.sub(field, 3))
      if (side == 'u:' or side == 'r:') and start < first then
        if start >= lo then
          if side == 'u:' then used = used - value else reserved = reserved - value end
        end
        if side == 'u:' or value == 0 then redis.call('HDEL', hkey, field) end
      end
    end
  end
  redis.call('HSET', hkey, 'U', used, 'R', reserved, 'lo', text(first))
  return used, reserved, first
end

-- Adds to one bucket of a rolling window (side 'U' or 'R'), and to its total when the bucket is
-- still counted. Returns whether it was.
local function add_rolling(hkey, side, placement, amount, lo)
  local field = string.lower(side) .. ':' .. placement
  local value = redis.call('HINCRBY', hkey, field, amount)
  if tonumber(placement) >= lo then
    redis.call('HINCRBY', hkey, side, amount)
    return true
  end
  if value == 0 then redis.call('HDEL', hkey, field) end
  return false
end

-- Returns the holds of expired leases to their counter.
-- Returns the holds of expired leases to their counter; for a rolling window, returns what left its total.
local function expire_holds(kind, hkey, zkey, now, lo)
  local expired = redis.call('ZRANGEBYSCORE', zkey, '-inf', now)
  if #expired == 0 then return 0 end
  local start, released = nil, 0
  if kind == 'x' then start = redis.call('HGET', hkey, 's') end
  for _, member in ipairs(expired) do
    local placement, amount = string.match(member, '|([^|]+)|([^|]+)$')
    if kind == 'r' then
      if add_rolling(hkey, 'R', placement, -tonumber(amount), lo) then released = released + tonumber(amount) end
    elseif kind ~= 'x' or start == placement then
      redis.call('HINCRBY', hkey, field_of(kind, placement), -tonumber(amount))
    end
  end
  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now)
  return released
end

-- A rolling window's live buckets (after advance()): per bucket start its tokens, and the newest
-- bucket that holds any. Walks every field: only for refusals and reads, never to admit.
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

-- The state of one counter, after returning expired holds: used, reserved, window start, reset
-- time, placement (as text). A rolling window's reset time is left out (nil): it needs every
-- bucket, and a successful reservation knows it without them (see reset_of).
local function view(kind, hkey, zkey, now, nowText, a, b)
  if kind == 'f' then
    expire_holds(kind, hkey, zkey, now)
    local counts = redis.call('HMGET', hkey, 'u', 'r')
    return { used = tonumber(counts[1]) or 0, reserved = tonumber(counts[2]) or 0, start = tonumber(a), reset = tonumber(b), placement = a, fresh = not counts[1] and not counts[2] }
  elseif kind == 'x' then
    expire_holds(kind, hkey, zkey, now)
    local state = redis.call('HMGET', hkey, 's', 'e', 'u', 'r')
    if state[1] and tonumber(state[2]) > now then
      return { used = tonumber(state[3]) or 0, reserved = tonumber(state[4]) or 0, start = tonumber(state[1]), reset = tonumber(state[2]), placement = state[1] }
    end
    return { used = 0, reserved = 0, start = now, reset = tonumber(a), placement = nowText, fresh = true }
  end
  local length, bucket = tonumber(a), tonumber(b)
  local used, reserved, lo = advance(hkey, now, length, bucket)
  reserved = reserved - expire_holds(kind, hkey, zkey, now, lo)
  return { used = used, reserved = reserved, start = now - length, placement = text(math.floor(now / bucket) * bucket), lo = lo }
end

-- A rolling window's reset time and buckets: when its newest tokens leave it.
local function rolling_reset(hkey, now, a, b)
  local length, bucket = tonumber(a), tonumber(b)
  local totals, newest = rolling_buckets(hkey, now, length, bucket)
  if newest then return newest + bucket + length, totals end
  return now, totals
end
`

export const reserveScript = `${common}
-- Places a batch of reservations, in order; each is all or nothing on its own counters.
-- KEYS: per reservation, per counter, its hash and its holds.
-- ARGV: reservation count; then per reservation: now, expiresAt, leaseId, counter count, and per
--   counter six values: kind, limit ('' = none), amount, hold ('1' or '0'), a, b
--   (f: a = window start, b = window end; x: a = end of a window opened now; r: a = length, b = bucket)
-- Returns per reservation: 1 and per counter placement, used, reserved, window start, reset; or 0
--   and per refused counter index, used, reserved, window start, reset, retry time.
local function reserve_one(kbase, abase, out)
  local nowText = ARGV[abase + 1]
  local now, expiresAt, leaseId, n = tonumber(nowText), tonumber(ARGV[abase + 2]), ARGV[abase + 3], tonumber(ARGV[abase + 4])
  local views, refusals = {}, {}
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 6
    local kind, limit, amount = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey, zkey = KEYS[kbase + 2 * i - 1], KEYS[kbase + 2 * i]
    local v = view(kind, hkey, zkey, now, nowText, a, b)
    views[i] = v
    if limit ~= '' and v.used + v.reserved + amount > tonumber(limit) then
      local totals = nil
      if kind == 'r' then v.reset, totals = rolling_reset(hkey, now, a, b) end
      local retry = v.reset
      if kind == 'r' then
        local starts = {}
        for start in pairs(totals) do table.insert(starts, start) end
        table.sort(starts)
        local remaining = v.used + v.reserved
        for _, start in ipairs(starts) do
          remaining = remaining - totals[start]
          if remaining + amount <= tonumber(limit) then
            retry = start + tonumber(b) + tonumber(a)
            break
          end
        end
      end
      for _, value in ipairs({ i - 1, v.used, v.reserved, v.start, v.reset, retry }) do table.insert(refusals, value) end
    end
  end
  if #refusals > 0 then
    table.insert(out, 0)
    table.insert(out, #refusals)
    for _, value in ipairs(refusals) do table.insert(out, value) end
    return n
  end

  table.insert(out, 1)
  table.insert(out, 5 * n)
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 6
    local kind, amountText, hold = ARGV[base + 1], ARGV[base + 3], ARGV[base + 4] == '1'
    local amount = tonumber(amountText)
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey, zkey = KEYS[kbase + 2 * i - 1], KEYS[kbase + 2 * i]
    local v = views[i]
    if hold then
      local until_ = expiresAt
      if kind == 'f' then
        until_ = math.max(tonumber(b), expiresAt)
      elseif kind == 'x' then
        if v.fresh then
          redis.call('DEL', hkey)
          redis.call('HSET', hkey, 's', nowText, 'e', a, 'u', 0, 'r', 0)
        end
        until_ = math.max(v.reset, expiresAt)
      else
        until_ = math.max(now + tonumber(a) + tonumber(b), expiresAt)
      end
      if kind == 'r' then add_rolling(hkey, 'R', v.placement, amount, v.lo) else redis.call('HINCRBY', hkey, field_of(kind, v.placement), amount) end
      -- A fixed window's lifetime is set once, when it is created; the others slide with activity.
      if kind ~= 'f' or v.fresh then live_for(hkey, until_ - now + GRACE) end
      if amount > 0 then
        redis.call('ZADD', zkey, expiresAt, leaseId .. '|' .. v.placement .. '|' .. amountText)
        live_for(zkey, until_ - now + GRACE)
      end
      v.reserved = v.reserved + amount
      if kind == 'r' and amount > 0 then v.reset = tonumber(v.placement) + tonumber(b) + tonumber(a) end
    end
    if v.reset == nil then v.reset = rolling_reset(hkey, now, a, b) end
    for _, value in ipairs({ tonumber(v.placement), v.used, v.reserved, v.start, v.reset }) do table.insert(out, value) end
  end
  return n
end

local out, kbase, abase = {}, 0, 1
for _ = 1, tonumber(ARGV[1]) do
  local n = reserve_one(kbase, abase, out)
  kbase, abase = kbase + 2 * n, abase + 4 + 6 * n
end
return out
`

export const settleScript = `${common}
-- Settles a batch of leases.
-- KEYS: per lease, its settled marker, then per charge its hash and its holds.
-- ARGV: lease count; then per lease: now, leaseId, marker lifetime (ms), charge count, and per
--   charge six values: kind, placement, held, amount, a, b (as for reserve).
-- Returns per lease: -1 when it was already settled (a retry: nothing is charged again); else the
--   charge count, then per charge used before and after.
-- Other leases' expired holds are left to the next reserve or read of the counter.
local function settle_one(kbase, abase, out)
  local now, leaseId, n = tonumber(ARGV[abase + 1]), ARGV[abase + 2], tonumber(ARGV[abase + 4])
  if not redis.call('SET', KEYS[kbase + 1], '1', 'NX', 'PX', ARGV[abase + 3]) then
    table.insert(out, -1)
    return n
  end
  table.insert(out, n)
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 6
    local kind, placement, heldText, amount = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], tonumber(ARGV[base + 4])
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey, zkey = KEYS[kbase + 2 * i], KEYS[kbase + 2 * i + 1]
    local live, used, reserved, lo = true, 0, 0, nil
    if kind == 'x' then live = redis.call('HGET', hkey, 's') == placement end
    if kind == 'r' then
      used, reserved, lo = advance(hkey, now, tonumber(a), tonumber(b))
      live = tonumber(placement) >= lo
    end
    -- The hold is still there unless it expired and was returned already: return it once.
    local returned = tonumber(heldText) > 0 and redis.call('ZREM', zkey, leaseId .. '|' .. placement .. '|' .. heldText) == 1
    if returned and kind == 'r' then
      add_rolling(hkey, 'R', placement, -tonumber(heldText), lo)
    elseif returned and live then
      redis.call('HINCRBY', hkey, field_of(kind, placement), -tonumber(heldText))
    end
    if not live then
      table.insert(out, 0)
      table.insert(out, 0)
    else
      local before = 0
      if kind == 'r' then
        before = used
        add_rolling(hkey, 'U', placement, amount, lo)
        live_for(hkey, tonumber(a) + tonumber(b) + GRACE)
      else
        before = redis.call('HINCRBY', hkey, 'u', amount) - amount
        -- A window evicted before a late commit comes back as a new key: give it a lifetime.
        if kind == 'f' and not returned and redis.call('PTTL', hkey) < 0 then live_for(hkey, tonumber(b) - now + GRACE) end
      end
      table.insert(out, before)
      table.insert(out, before + amount)
    end
  end
  return n
end

local out, kbase, abase = {}, 0, 1
for _ = 1, tonumber(ARGV[1]) do
  local n = settle_one(kbase, abase, out)
  kbase, abase = kbase + 1 + 2 * n, abase + 4 + 6 * n
end
return out
`

export const readScript = `${common}
-- KEYS: per counter, its hash and its holds. ARGV: now, counter count; then per counter kind, a, b.
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
for i = 1, n do
  local base = 2 + (i - 1) * 3
  local kind, a, b = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3]
  local v = view(kind, KEYS[2 * i - 1], KEYS[2 * i], now, ARGV[1], a, b)
  if v.reset == nil then v.reset = rolling_reset(KEYS[2 * i - 1], now, a, b) end
  for _, value in ipairs({ v.used, v.reserved, v.start, v.reset }) do table.insert(out, value) end
end
return out
`

/** A script with its SHA-1, for `EVALSHA`. */
export interface LuaScript {
  readonly name: string
  readonly source: string
  readonly sha: string
}

function script(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

export const scripts = {
  reserve: script('reserve', reserveScript),
  settle: script('settle', settleScript),
  read: script('read', readScript),
} as const
