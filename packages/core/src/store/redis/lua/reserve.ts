import { luaScript } from '../script-runner.js'
import { common } from './common.js'
import { noteRefusalLua } from './refusal.js'

/** Reserves on every counter of a call, or on none (all or nothing). */
const source = `${common}${noteRefusalLua}
-- KEYS: the shard's holds, the shard's overrides; then per reservation its lease key (see
--   keep_lease), and per counter its hash and its last-refusal key.
-- ARGV: reservation count, the earliest now (for expiring holds); then per reservation a
--   reserveLease record and its counters' reserveCounter records (see script-fields.ts).
-- Returns the list of reservations' answers, and the list of balance expiries (see put_expired).
--   Per reservation: 1, a length, and per counter a placed record; or 0, a length, and per
--   refused counter a refused record.
-- twin: memory-store.ts MemoryStore.reserve
local holds = KEYS[1]
expire_holds(holds, tonumber(ARGV[2]))
local overridden = redis.call('EXISTS', KEYS[2]) == 1

-- The limit a counter meets: the one given, unless an operator's override is in force.
-- twin: memory-admin.ts MemoryAdminBook.limitOf (algebra/limits.ts effectiveLimit)
local function limit_of(limit, family, identifier, now)
  if not overridden then return limit end
  return limit_in_force(KEYS[2], limit, family, identifier, now)
end

-- Per counter, what it holds (or checks): its amount, or in a fill group its share — as much of
-- what the group still needs as fits under its limit, the rest on the group's last counter.
-- twin: algebra/fill.ts fillShares
local function wanted(counters, views, limits)
  local last, left, want = {}, {}, {}
  for i, c in ipairs(counters) do
    if c.group ~= '' then last[c.group] = i end
  end
  for i, c in ipairs(counters) do
    local amount = tonumber(c.amount)
    if c.group == '' then
      want[i] = amount
    else
      if left[c.group] == nil then left[c.group] = amount end
      local take = left[c.group]
      if last[c.group] ~= i and limits[i] ~= '' then
        take = math.min(take, math.max(0, tonumber(limits[i]) - views[i].used - views[i].reserved))
      end
      want[i], left[c.group] = take, left[c.group] - take
    end
  end
  return want
end

-- A refused counter's earliest retry: its reset, or for a rolling window when enough buckets left.
-- twin: algebra/retry.ts rollingRetryAt
local function retry_of(c, v, hkey, now, amount, limit)
  if c.kind ~= 'r' then return v.reset end
  local length, bucket = tonumber(c.a), tonumber(c.b)
  local totals
  v.reset, totals = rolling_reset(hkey, now, length, bucket)
  local starts = {}
  for start in pairs(totals) do table.insert(starts, start) end
  table.sort(starts)
  local remaining = v.used + v.reserved
  for _, start in ipairs(starts) do
    remaining = remaining - totals[start]
    if remaining + amount <= limit then return start + bucket + length end
  end
  return v.reset
end

-- Adds amount to a counter's reserved tokens, keeping its key until the hold may end.
local function hold_on(c, v, hkey, now, amount, expiresAt)
  v.reserved = v.reserved + amount
  if c.kind == 'b' then
    -- No key for a balance that holds nothing (a spill not needed): balance keys never expire.
    if amount > 0 then redis.call('HSET', hkey, 'r', v.reserved) end
  elseif c.kind == 'f' then
    local until_ = extend(v.x, math.max(tonumber(c.b), expiresAt), 0)
    if until_ then redis.call('HSET', hkey, 'r', v.reserved, 'x', text(until_)) else redis.call('HSET', hkey, 'r', v.reserved) end
    live_until(hkey, until_, now)
  elseif c.kind == 'x' then
    local until_ = extend(v.x, math.max(v.reset, expiresAt), 0)
    if v.fresh then redis.call('DEL', hkey) end
    if until_ then
      redis.call('HSET', hkey, 's', v.placement, 'e', text(v.reset), 'u', v.used, 'r', v.reserved, 'x', text(until_))
    else
      redis.call('HSET', hkey, 's', v.placement, 'e', text(v.reset), 'u', v.used, 'r', v.reserved)
    end
    live_until(hkey, until_, now)
  else
    local length, bucket = tonumber(c.a), tonumber(c.b)
    local st = v.st
    st.R, st.r = v.reserved, st.r + amount
    local until_ = extend(st.x, math.max(now + length + bucket, expiresAt), length)
    save_rolling(hkey, st, v.placement, until_)
    live_until(hkey, until_, now)
    if amount > 0 then v.reset = tonumber(v.placement) + bucket + length end
  end
end

-- twin: memory-store.ts MemoryStore.reserve (algebra/limits.ts fits)
local function reserve_one(kbase, lease, counters, out)
  local nowText, n = lease.now, #counters
  local now, expiresAt, leaseId = tonumber(nowText), tonumber(lease.expiresAt), lease.leaseId
  local leaseKey = KEYS[kbase + 1]
  kbase = kbase + 1
  -- A lease already held (its call sent again: a reply lost, ioredis re-sending on reconnect) holds
  -- nothing more and is answered as the first time.
  local first = redis.call('HGET', leaseKey, 'a')
  if first then
    table.insert(out, 1)
    local o = #out
    table.insert(out, 0)
    -- As text: a client may decode a large integer reply inexactly (ioredis 6: Number.MAX_SAFE_INTEGER).
    for value in string.gmatch(first, '%S+') do table.insert(out, value) end
    out[o + 1] = #out - o - 1
    return
  end
  local views, limits, given = {}, {}, {}
  for i, c in ipairs(counters) do
    views[i] = view(c.kind, KEYS[kbase + 2 * i - 1], now, nowText, c.a, c.b)
    if c.kind == 'b' then
      -- A balance's capacity is its grants, whatever the request's limit.
      given[i], limits[i] = text(views[i].balance), views[i].balance
    else
      given[i] = limit_of(c.limit, c.family, c.identifier, now)
      limits[i] = given[i] == c.limit and -1 or tonumber(given[i])
    end
  end
  local want = wanted(counters, views, given)
  local refusals = {}
  for i, c in ipairs(counters) do
    local v, limit = views[i], given[i]
    if limit ~= '' and v.used + v.reserved + want[i] > tonumber(limit) then
      local hkey = KEYS[kbase + 2 * i - 1]
      local retry = retry_of(c, v, hkey, now, want[i], tonumber(limit))
      put(refusals, 'refused', { index = i - 1, used = v.used, reserved = v.reserved, windowStart = v.start, resetAt = v.reset, retryAt = retry, limit = limits[i] })
      note_refusal(KEYS[kbase + 2 * i], nowText, text(want[i]), limit, text(v.used), text(v.reserved), v.start)
    end
  end
  if #refusals > 0 then
    for i = 1, n do
      if views[i].st then save_moved(KEYS[kbase + 2 * i - 1], views[i].st) end
    end
    table.insert(out, 0)
    table.insert(out, #refusals)
    for _, value in ipairs(refusals) do table.insert(out, value) end
    return
  end

  local answer = {}
  local member, holding = leaseId, false
  for i, c in ipairs(counters) do
    local hkey, v = KEYS[kbase + 2 * i - 1], views[i]
    local held = 0
    if c.hold == '1' then
      holding, held = true, want[i]
      hold_on(c, v, hkey, now, held, expiresAt)
      if held > 0 then member = member .. '\\n' .. c.kind .. ' ' .. v.placement .. ' ' .. text(held) .. ' ' .. hkey end
    elseif c.kind == 'r' then
      save_moved(hkey, v.st)
    end
    if v.reset == nil then v.reset = rolling_reset(hkey, now, tonumber(c.a), tonumber(c.b)) end
    put(answer, 'placed', { placement = tonumber(v.placement), used = v.used, reserved = v.reserved, windowStart = v.start, resetAt = v.reset, limit = limits[i], held = held })
  end
  table.insert(out, 1)
  table.insert(out, #answer)
  for _, value in ipairs(answer) do table.insert(out, value) end
  -- Every lease that holds has a member, even for zero tokens: its settle finds it exactly once.
  if lease.record ~= '' then member = member .. '\\n#' .. lease.record end
  if lease.release == '1' then member = member .. '\\n=r' end
  if holding then
    redis.call('ZADD', holds, expiresAt, member)
    local saved = {}
    for i = 1, #answer do saved[i] = text(answer[i]) end
    redis.call('HSET', leaseKey, 'a', table.concat(saved, ' '), 'm', member, 'e', text(expiresAt))
    keep_lease(leaseKey, expiresAt, now)
  end
end

local out, expired, kbase, base, latest = {}, {}, 2, 2, 0
for _ = 1, tonumber(ARGV[1]) do
  local lease, counters = nil, {}
  lease, base = take(base, 'reserveLease')
  for i = 1, tonumber(lease.count) do counters[i], base = take(base, 'reserveCounter') end
  latest = math.max(latest, tonumber(lease.expiresAt))
  reserve_one(kbase, lease, counters, out)
  for i, c in ipairs(counters) do
    if c.kind == 'b' then put_expired(expired, KEYS[kbase + 1 + 2 * i - 1]) end
  end
  kbase = kbase + 1 + 2 * #counters
end
keep_holds(holds, latest, tonumber(ARGV[2]))
return { out, expired }
`

export const reserveScript = luaScript('reserve', source, 'be4fe5af0bc497160450c0b037eff434fde1572c')
