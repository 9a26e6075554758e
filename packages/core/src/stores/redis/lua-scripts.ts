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
 * - `r` (rolling): one hash per identifier, fields `u:<bucket start>` and `r:<bucket start>`;
 *   buckets out of the window are deleted when seen, so a hash holds at most one window of them.
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

-- Returns the holds of expired leases to their counter.
local function expire_holds(kind, hkey, zkey, now)
  local expired = redis.call('ZRANGEBYSCORE', zkey, '-inf', now)
  if #expired == 0 then return end
  local start = nil
  if kind == 'x' then start = redis.call('HGET', hkey, 's') end
  for _, member in ipairs(expired) do
    local placement, amount = string.match(member, '|([^|]+)|([^|]+)$')
    if kind ~= 'x' or start == placement then
      redis.call('HINCRBY', hkey, field_of(kind, placement), -tonumber(amount))
    end
  end
  redis.call('ZREMRANGEBYSCORE', zkey, '-inf', now)
end

-- A rolling window's live buckets: totals, and the bucket starts that hold tokens.
local function rolling_state(hkey, now, length, bucket)
  local flat = redis.call('HGETALL', hkey)
  local horizon = now - length
  local used, reserved, newest = 0, 0, nil
  local totals = {}
  for i = 1, #flat, 2 do
    local field, value = flat[i], tonumber(flat[i + 1])
    local side, start = string.sub(field, 1, 1), tonumber(string.sub(field, 3))
    if start + bucket <= horizon then
      if side == 'u' or value == 0 then redis.call('HDEL', hkey, field) end
    else
      if side == 'u' then used = used + value else reserved = reserved + value end
      totals[start] = (totals[start] or 0) + value
      if value > 0 and (newest == nil or start > newest) then newest = start end
    end
  end
  return used, reserved, totals, newest
end

-- The state of one counter: used, reserved, window start, reset time, placement (as text), totals.
local function view(kind, hkey, now, nowText, a, b)
  if kind == 'f' then
    local counts = redis.call('HMGET', hkey, 'u', 'r')
    return { used = tonumber(counts[1]) or 0, reserved = tonumber(counts[2]) or 0, start = tonumber(a), reset = tonumber(b), placement = a, fresh = not counts[1] and not counts[2] }
  elseif kind == 'x' then
    local state = redis.call('HMGET', hkey, 's', 'e', 'u', 'r')
    if state[1] and tonumber(state[2]) > now then
      return { used = tonumber(state[3]) or 0, reserved = tonumber(state[4]) or 0, start = tonumber(state[1]), reset = tonumber(state[2]), placement = state[1] }
    end
    return { used = 0, reserved = 0, start = now, reset = tonumber(a), placement = nowText, fresh = true }
  end
  local length, bucket = tonumber(a), tonumber(b)
  local used, reserved, totals, newest = rolling_state(hkey, now, length, bucket)
  local reset = now
  if newest then reset = newest + bucket + length end
  return { used = used, reserved = reserved, start = now - length, reset = reset, placement = string.format('%.0f', math.floor(now / bucket) * bucket), totals = totals }
end
`

export const reserveScript = `${common}
-- KEYS: per counter, its hash and its holds.
-- ARGV: now, expiresAt, leaseId, counter count; then per counter six values:
--   kind, limit ('' = none), amount, hold ('1' or '0'), a, b
--   (f: a = window start, b = window end; x: a = end of a window opened now; r: a = length, b = bucket)
local now, expiresAt, leaseId, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local views, refusals = {}, {}
for i = 1, n do
  local base = 4 + (i - 1) * 6
  local kind, limit, amount = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
  local a, b = ARGV[base + 5], ARGV[base + 6]
  local hkey, zkey = KEYS[2 * i - 1], KEYS[2 * i]
  expire_holds(kind, hkey, zkey, now)
  local v = view(kind, hkey, now, ARGV[1], a, b)
  views[i] = v
  if limit ~= '' and v.used + v.reserved + amount > tonumber(limit) then
    local retry = v.reset
    if kind == 'r' then
      local starts = {}
      for start in pairs(v.totals) do table.insert(starts, start) end
      table.sort(starts)
      local remaining = v.used + v.reserved
      for _, start in ipairs(starts) do
        remaining = remaining - v.totals[start]
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
  table.insert(refusals, 1, 0)
  return refusals
end

local out = { 1 }
for i = 1, n do
  local base = 4 + (i - 1) * 6
  local kind, amountText, hold = ARGV[base + 1], ARGV[base + 3], ARGV[base + 4] == '1'
  local amount = tonumber(amountText)
  local a, b = ARGV[base + 5], ARGV[base + 6]
  local hkey, zkey = KEYS[2 * i - 1], KEYS[2 * i]
  local v = views[i]
  if hold then
    local until_ = expiresAt
    if kind == 'f' then
      until_ = math.max(tonumber(b), expiresAt)
    elseif kind == 'x' then
      if v.fresh then
        redis.call('DEL', hkey)
        redis.call('HSET', hkey, 's', ARGV[1], 'e', a, 'u', 0, 'r', 0)
      end
      until_ = math.max(v.reset, expiresAt)
    else
      until_ = math.max(now + tonumber(a) + tonumber(b), expiresAt)
    end
    redis.call('HINCRBY', hkey, field_of(kind, v.placement), amount)
    -- A fixed window's lifetime is set once, when it is created; the others slide with activity.
    if kind ~= 'f' or v.fresh then live_for(hkey, until_ - now + GRACE) end
    if amount > 0 then
      redis.call('ZADD', zkey, expiresAt, leaseId .. '|' .. v.placement .. '|' .. amountText)
      live_for(zkey, until_ - now + GRACE)
    end
    v.reserved = v.reserved + amount
  end
  for _, value in ipairs({ tonumber(v.placement), v.used, v.reserved, v.start, v.reset }) do table.insert(out, value) end
end
return out
`

export const settleScript = `${common}
-- KEYS: the lease's settled marker; then per charge, its hash and its holds.
-- ARGV: now, leaseId, marker lifetime (ms), charge count; then per charge seven values:
--   kind, placement, held, amount, a, b (as for reserve), and '1' when used before and after are
--   wanted (thresholds), '0' when they are not.
-- Returns { -1 } when the lease was already settled; else per charge used before and after.
-- Other leases' expired holds are left to the next reserve or read of the counter.
local now, leaseId, n = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[4])
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[3]) then return { -1 } end
local out = {}
for i = 1, n do
  local base = 4 + (i - 1) * 7
  local kind, placement, heldText, amount = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], tonumber(ARGV[base + 4])
  local a, b, measure = ARGV[base + 5], ARGV[base + 6], ARGV[base + 7] == '1'
  local hkey, zkey = KEYS[2 * i], KEYS[2 * i + 1]
  local live = true
  if kind == 'x' then live = redis.call('HGET', hkey, 's') == placement end
  if kind == 'r' then live = tonumber(placement) + tonumber(b) > now - tonumber(a) end
  -- The hold is still there unless it expired and was returned already: return it once.
  if tonumber(heldText) > 0 and redis.call('ZREM', zkey, leaseId .. '|' .. placement .. '|' .. heldText) == 1 and live then
    redis.call('HINCRBY', hkey, field_of(kind, placement), -tonumber(heldText))
  end
  if not live then
    table.insert(out, 0)
    table.insert(out, 0)
  else
    local before = 0
    if kind == 'r' then
      if measure then before = rolling_state(hkey, now, tonumber(a), tonumber(b)) end
      redis.call('HINCRBY', hkey, 'u:' .. placement, amount)
      live_for(hkey, tonumber(a) + tonumber(b) + GRACE)
    else
      before = tonumber(redis.call('HGET', hkey, 'u')) or 0
      redis.call('HINCRBY', hkey, 'u', amount)
      -- A window evicted before a late commit comes back as a new key: give it a lifetime.
      if kind == 'f' and redis.call('PTTL', hkey) < 0 then live_for(hkey, tonumber(b) - now + GRACE) end
    end
    table.insert(out, before)
    table.insert(out, before + amount)
  end
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
  expire_holds(kind, KEYS[2 * i - 1], KEYS[2 * i], now)
  local v = view(kind, KEYS[2 * i - 1], now, ARGV[1], a, b)
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
