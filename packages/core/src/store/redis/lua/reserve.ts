import { luaScript } from '../script-runner.js'
import { common } from './common.js'
import { noteRefusalLua } from './refusal.js'

/** Reserves on every counter of a call, or on none (all or nothing). */
const source = `${common}${noteRefusalLua}
-- twin: memory-store.ts MemoryStore.reserve
-- KEYS: the shard's holds, the shard's overrides; then per reservation its lease key (the first
--   answer of a lease that holds), and per counter its hash and its last-refusal key.
-- ARGV: reservation count, the earliest now (for expiring holds); then per reservation: now,
--   expiresAt, leaseId, counter count, and per counter eight values: kind, limit ('' = none),
--   amount, hold ('1' or '0'), a, b, family, identifier
--   (f: a = window start, b = window end; x: a = end of a window opened now; r: a = length, b = bucket)
-- Returns per reservation: 1, a length, and per counter placement, used, reserved, window start,
--   reset, limit in force (-1: the one given); or 0, a length, and per refused counter index, used,
--   reserved, window start, reset, retry time, limit in force (-1: the one given).
local holds = KEYS[1]
expire_holds(holds, tonumber(ARGV[2]))
local overridden = redis.call('EXISTS', KEYS[2]) == 1

-- The limit a counter meets: the one given, unless an operator's override is in force.
-- twin: memory-admin.ts MemoryAdminBook.limitOf (algebra/limits.ts effectiveLimit)
local function limit_of(limit, family, identifier, now)
  if not overridden then return limit end
  return limit_in_force(KEYS[2], limit, family, identifier, now)
end

-- twin: memory-store.ts MemoryStore.reserve (algebra/limits.ts fits, algebra/retry.ts rollingRetryAt)
local function reserve_one(kbase, abase, out)
  local nowText = ARGV[abase + 1]
  local now, expiresAt, leaseId, n = tonumber(nowText), tonumber(ARGV[abase + 2]), ARGV[abase + 3], tonumber(ARGV[abase + 4])
  local leaseKey = KEYS[kbase + 1]
  kbase = kbase + 1
  -- A lease already held (its call sent again: a reply lost, ioredis re-sending on reconnect) holds
  -- nothing more and is answered as the first time.
  local first = redis.call('GET', leaseKey)
  if first then
    for value in string.gmatch(first, '%S+') do table.insert(out, tonumber(value)) end
    return n
  end
  -- A lease whose holds are returned, not charged, at expiry: its member ends with \`=r\`.
  local release = string.sub(leaseId, -3) == '\\n=r'
  if release then leaseId = string.sub(leaseId, 1, -4) end
  local views, refusals = {}, {}
  local limits = {}
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 8
    local kind, given, amount = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey = KEYS[kbase + 2 * i - 1]
    local v = view(kind, hkey, now, nowText, a, b)
    views[i] = v
    local limit = limit_of(given, ARGV[base + 7], ARGV[base + 8], now)
    limits[i] = limit == given and -1 or tonumber(limit)
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
      for _, value in ipairs({ i - 1, v.used, v.reserved, v.start, v.reset, retry, limits[i] }) do table.insert(refusals, value) end
      note_refusal(KEYS[kbase + 2 * i], nowText, ARGV[base + 3], limit, text(v.used), text(v.reserved), v.start)
    end
  end
  if #refusals > 0 then
    for i = 1, n do
      if views[i].st then save_moved(KEYS[kbase + 2 * i - 1], views[i].st) end
    end
    table.insert(out, 0)
    table.insert(out, #refusals)
    for _, value in ipairs(refusals) do table.insert(out, value) end
    return n
  end

  local answer = #out + 1
  table.insert(out, 1)
  table.insert(out, 6 * n)
  local member, holding = leaseId, false
  for i = 1, n do
    local base = abase + 4 + (i - 1) * 8
    local kind, amountText, hold = ARGV[base + 1], ARGV[base + 3], ARGV[base + 4] == '1'
    local amount = tonumber(amountText)
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey = KEYS[kbase + 2 * i - 1]
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
    out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5], out[o + 6] = tonumber(v.placement), v.used, v.reserved, v.start, v.reset, limits[i]
  end
  -- Every lease that holds has a member, even for zero tokens: its settle finds it exactly once.
  if release then member = member .. '\\n=r' end
  if holding then
    redis.call('ZADD', holds, expiresAt, member)
    local saved = {}
    for i = answer, #out do saved[#saved + 1] = text(out[i]) end
    redis.call('SET', leaseKey, table.concat(saved, ' '), 'PX', math.max(1, math.floor(expiresAt - now + RETAIN + GRACE)))
  end
  return n
end

local out, kbase, abase, latest = {}, 2, 2, 0
for _ = 1, tonumber(ARGV[1]) do
  latest = math.max(latest, tonumber(ARGV[abase + 2]))
  local n = reserve_one(kbase, abase, out)
  kbase, abase = kbase + 1 + 2 * n, abase + 4 + 8 * n
end
-- The holds set lives as long as its latest hold, on Redis's clock (durations, not instants).
local ttl, needed = redis.call('PTTL', holds), latest - tonumber(ARGV[2]) + RETAIN + GRACE
if ttl >= 0 and ttl < needed then redis.call('PEXPIRE', holds, math.floor(needed)) end
if ttl == -1 then redis.call('PEXPIRE', holds, math.floor(needed)) end
return out
`

export const reserveScript = luaScript('reserve', source, 'bf5aa72362efaf768c288279578100ee5194dca2')
