import { fieldsHelpersLua } from '../script-fields.js'
import { creditsLua } from './credits.js'

/**
 * The Lua scripts of the Redis stores. One script per operation, so each operation is one round
 * trip and atomic: `reserve` checks every counter and holds on all of them or none. A call carries
 * a batch of operations (the stores coalesce concurrent ones), applied in order.
 *
 * Keys: a hash per counter; per shard, one sorted set of the holds of unsettled leases (member:
 * the lease id, per counter it holds on a line `kind placement amount key`, then the
 * reservation's opaque record as a line `#record`; score: the lease's own expiry, so a long-lived
 * lease never delays the expiry of short ones). Per lease, a hash (see `lease_key`) keeps the
 * member, the expiry and the reservation's first answer while the lease may be settled.
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
 * - `b` (a credit balance): one hash per identifier with no TTL, `B` (balance) and `r`, beside its
 *   grants, ledger and top-up keys (see credits.ts). Its hold line is `b 0 amount key`.
 *
 * Each counter costs one HMGET and one HSET per operation; a lease adds one ZADD, and one ZREM
 * when settled. Time is the `now` argument (the engine's clock), never Redis `TIME`.
 */

/** Lua functions shared by the scripts: argument records, windows, holds, expiry. */
export const common = `${fieldsHelpersLua}
local GRACE = 60000
-- How long an expired lease is remembered, for its late commit.
local RETAIN = 3600000

-- twin: none (formats a number for Redis; TypeScript keeps numbers)
local function text(number)
  if number == 0 then return '0' end -- never '-0'
  return string.format('%.0f', number)
end

-- An allow override's amount ("amount until", until '-' for none), or nil when absent or over.
-- twin: algebra/limits.ts inForce
local function override_amount(entry, now)
  if not entry then return nil end
  local amount, until_ = string.match(entry, '^(%S+) (%S+)$')
  if until_ ~= '-' and tonumber(until_) <= now then return nil end
  return tonumber(amount)
end

-- The grants of a list ("amount until amount until ...", each grant its own end) still in force,
-- as a list ('' for none), and their sum.
-- twin: algebra/limits.ts grantsInForce
local function grants_in_force(entry, now)
  if not entry then return '', 0 end
  local kept, sum = {}, 0
  for amount, until_ in string.gmatch(entry, '(%S+) (%S+)') do
    if until_ == '-' or tonumber(until_) > now then
      table.insert(kept, amount .. ' ' .. until_)
      sum = sum + tonumber(amount)
    end
  end
  return table.concat(kept, ' '), sum
end

-- The limit in force on a counter (text, '' for none): the one given, unless an operator's
-- override in the hash okey is: an allow replaces it (the identifier's first, then its family's),
-- every grant in force adds to it. A shared counter (identifier '') is its own family: its
-- overrides count once.
-- twin: algebra/limits.ts effectiveLimit (with counterOverrides)
local function limit_in_force(okey, limit, family, identifier, now)
  if limit == '' then return limit end
  local own, all = family .. '\\n' .. identifier .. '\\n', family .. '\\n\\n'
  local f = redis.call('HMGET', okey, own .. 'a', all .. 'a', own .. 'g', all .. 'g')
  if identifier == '' then f[2], f[4] = false, false end
  local _, granted = grants_in_force(f[3], now)
  local _, familyGranted = grants_in_force(f[4], now)
  local base = override_amount(f[1], now) or override_amount(f[2], now) or tonumber(limit)
  return text(base + granted + familyGranted)
end

-- The new keep-until time of a key that must live until need (engine time), or nil when its
-- current one (x) is enough. slack: how much longer to keep it, so active keys are rarely touched.
-- twin: none (a Redis key's lifetime; MemoryStore evicts on its sweep, see algebra/windows.ts evictable)
local function extend(x, need, slack)
  if x ~= nil and need <= x then return nil end
  return need + slack
end

-- twin: none (a Redis key's lifetime)
local function live_until(key, until_, now)
  if until_ ~= nil then redis.call('PEXPIRE', key, math.max(1, math.floor(until_ - now + GRACE))) end
end

-- Moves a rolling window's state (U, R, lo) to now: the buckets that left it leave its totals and
-- are deleted (a bucket's reserved field stays while it still holds).
-- twin: algebra/windows.ts advanceRolling (and firstBucket)
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
-- twin: memory/rolling-slots.ts RollingSlots.view (reads the state, then advanceRolling)
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
-- twin: none (writes back what advanceRolling changed; MemoryStore changes it in place)
local function save_moved(hkey, st)
  if st.moved and st.x ~= nil then redis.call('HSET', hkey, 'U', st.U, 'R', st.R, 'lo', text(st.lo)) end
end

-- Writes a rolling window's state back: totals, bucket p (a bucket out of the window only keeps
-- its reserved field, while it holds), and what moved.
-- twin: none (writes a rolling window back; MemoryStore changes it in place with algebra/windows.ts addToBucket)
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

${creditsLua}
-- A hold member's lease id (its first line).
local function lease_of(member)
  return string.match(member, '^[^\\n]*')
end

-- A hold member's record (the reservation's opaque \`#\` line), or '' when it has none.
local function record_of(member)
  return string.match(member, '\\n#([^\\n]*)') or ''
end

-- Charges up to 100 expired holds to their counters (or returns them, for a lease reserved with a
-- last line \`=r\`); forgets expired leases remembered long enough. Every hold expires at its own
-- score, whatever the order leases were made in. Returns what ended, per lease: its member, its
-- record and whether it was charged — what an outbox entry written in the same step needs.
-- twin: algebra/holds.ts isExpired, expiryChange (MemoryStore: memory/hold-queue.ts takeExpired, MemoryStore #expire)
local function expire_holds(holds, now)
  local expired = redis.call('ZRANGEBYSCORE', holds, '-inf', now, 'LIMIT', 0, 100)
  local ended = {}
  for _, member in ipairs(expired) do
    if string.sub(member, -2) ~= '\\n!' and string.sub(member, -3) ~= '\\n!c' then
      local charge = string.sub(member, -3) ~= '\\n=r'
      local record = record_of(member)
      table.insert(ended, { member = member, record = record, charged = charge })
      for kind, placement, amount, hkey in string.gmatch(member, '\\n(%a) (%d+) (%d+) ([^\\n]+)') do
        amount = tonumber(amount)
        if kind == 'b' then
          expire_balance_hold(hkey, now, amount, charge, lease_of(member), record)
        elseif kind == 'f' then
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
    elseif string.sub(member, -3) == '\\n!c' then
      -- Forgotten: what its expiry left unpaid on a balance is no longer needed for a late settle.
      for hkey in string.gmatch(member, '\\nb %d+ %d+ ([^\\n]+)') do redis.call('HDEL', hkey, 'u:' .. lease_of(member)) end
    end
    redis.call('ZREM', holds, member)
  end
  return ended
end

-- Keeps a shard's holds set as long as its latest hold (until engine time latest), on Redis's
-- clock (durations, not instants).
local function keep_holds(holds, latest, now)
  local ttl, needed = redis.call('PTTL', holds), latest - now + RETAIN + GRACE
  if ttl == -1 or (ttl >= 0 and ttl < needed) then redis.call('PEXPIRE', holds, math.floor(needed)) end
end

-- A lease's hash: m, its hold member as added to the holds set (absent: the lease held nothing);
-- e, its expiry; a, its reservation's first answer (placed records, space-separated), so a
-- reservation sent again is answered the same. Kept an hour past the expiry, for a late settle.
local function keep_lease(leaseKey, expiresAt, now)
  redis.call('PEXPIRE', leaseKey, math.max(1, math.floor(expiresAt - now + RETAIN + GRACE)))
end

-- A rolling window's live buckets: per bucket start its tokens, and the newest bucket that holds
-- any. Walks every field: only for refusals and reads, never to admit.
-- twin: algebra/windows.ts rollingResetAt (the walk over the buckets)
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
-- twin: algebra/windows.ts rollingResetAt
local function rolling_reset(hkey, now, length, bucket)
  local totals, newest = rolling_buckets(hkey, now, length, bucket)
  if newest then return newest + bucket + length, totals end
  return now, totals
end

-- The state of one counter: used, reserved, window start, reset time (nil for a rolling window:
-- it needs every bucket, see rolling_reset), placement (as text), and what the write needs.
-- twin: memory/counter-slots.ts CounterSlots.view (algebra/windows.ts windowOpen, bucketStart, rollingPlacement)
local function view(kind, hkey, now, nowText, a, b)
  if kind == 'b' then return balance_view(hkey, now) end
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
