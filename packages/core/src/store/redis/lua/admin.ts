import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/**
 * An admin step's opening and closing, shared by the change and reset scripts: the step runs once
 * per idempotency marker, and is recorded in the shard's audit list in the same script. The marker
 * holds the change's fingerprint: the same key with another change is refused.
 * KEYS[1]: the marker, KEYS[2]: the audit list. ARGV[1]: now, ARGV[2]: how long the marker is
 * kept (ms), ARGV[3]: the audit entry, ARGV[4]: audit retention, ARGV[5]: the change's fingerprint.
 */
const step = `
-- 0: not applied yet; 1: applied with this change (a marker written before fingerprints, '1',
-- counts as this change); 2: applied with another change.
-- twin: memory-admin.ts MemoryAdminBook.step (the idempotency check)
local function applied_as()
  local marker = redis.call('GET', KEYS[1])
  if not marker then return 0 end
  if marker == ARGV[5] or marker == '1' then return 1 end
  return 2
end

-- twin: memory-admin.ts MemoryAdminBook.step (the marker and the audit entry)
local function done()
  redis.call('SET', KEYS[1], ARGV[5], 'PX', tonumber(ARGV[2]))
  redis.call('LPUSH', KEYS[2], ARGV[3])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
end
`

/**
 * Sets or removes an allow, adds a grant, or clears a target, with its audit entry, once per
 * marker; drops the hash's overrides that are over. Fields: `<family>\n<identifier>\n<a|g>`
 * (identifier empty for the whole family), values `amount until` (until `-` for none); a `g`
 * field holds every grant of its target, each `amount until`, in the order made.
 */
const changeSource = `${common}${step}
-- twin: memory-admin.ts MemoryAdminBook.write (the clean-up: algebra/limits.ts targetInForce)
-- KEYS: marker, audit list, the shard's overrides. ARGV: (as step), then field prefix
-- (family, newline, identifier, newline), operation ('a' allow, 'g' grant, 'c' clear), amount, until ('' none),
-- most grants. Returns applied (1; 0 when the marker was there with this change; -1 when the grants
-- are full; -2 when the marker was there with another change), then the target's allow and grants
-- in force afterwards ('' for none).
local now, okey, own, op = tonumber(ARGV[1]), KEYS[3], ARGV[6], ARGV[7]
local amount, until_ = ARGV[8], ARGV[9]
if until_ == '' then until_ = '-' end
local applied = 0
local before = applied_as()
if before == 2 then return { -2, '', '' } end
if before == 0 then
  local grants = grants_in_force(redis.call('HGET', okey, own .. 'g'), now)
  applied = 1
  if op == 'a' then
    redis.call('HSET', okey, own .. 'a', amount .. ' ' .. until_)
  elseif op == 'g' then
    local _, count = string.gsub(grants, '%S+ %S+', '')
    if count >= tonumber(ARGV[10]) then return { -1, '', '' } end
    if grants == '' then grants = amount .. ' ' .. until_ else grants = grants .. ' ' .. amount .. ' ' .. until_ end
    redis.call('HSET', okey, own .. 'g', grants)
  else
    redis.call('HDEL', okey, own .. 'a', own .. 'g')
  end
  local flat = redis.call('HGETALL', okey)
  for i = 1, #flat, 2 do
    local field, value = flat[i], flat[i + 1]
    if string.sub(field, -1) == 'g' then
      local live = grants_in_force(value, now)
      if live == '' then redis.call('HDEL', okey, field) elseif live ~= value then redis.call('HSET', okey, field, live) end
    elseif override_amount(value, now) == nil then
      redis.call('HDEL', okey, field)
    end
  end
  done()
end
local allow = redis.call('HGET', okey, own .. 'a')
if not allow or override_amount(allow, now) == nil then allow = '' end
return { applied, allow, (grants_in_force(redis.call('HGET', okey, own .. 'g'), now)) }
`

/** Reads, per counter, the overrides in force and the last refusal. */
const inspectSource = `${common}
-- twin: memory-admin.ts MemoryAdminBook.read (algebra/limits.ts overridesInForce)
-- KEYS: the shard's overrides, then per counter its last-refusal key. ARGV: now, then per counter
-- family, identifier. Returns per counter five strings ('' for none): own allow, family allow, own
-- grants, family grants, last refusal. A shared counter (identifier '') has only its own.
local now, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS - 1 do
  local own, all = ARGV[2 * i] .. '\\n' .. ARGV[2 * i + 1] .. '\\n', ARGV[2 * i] .. '\\n\\n'
  local f = redis.call('HMGET', KEYS[1], own .. 'a', all .. 'a', own .. 'g', all .. 'g')
  if ARGV[2 * i + 1] == '' then f[2], f[4] = false, false end
  for j = 1, 2 do
    if override_amount(f[j], now) == nil then table.insert(out, '') else table.insert(out, f[j]) end
  end
  for j = 3, 4 do
    table.insert(out, (grants_in_force(f[j], now)))
  end
  table.insert(out, redis.call('GET', KEYS[1 + i]) or '')
end
return out
`

/** Zeroes the committed usage of counters in their current window, with its audit entry, once per marker; holds stay. */
const resetSource = `${common}${step}
-- twin: memory-store.ts MemoryStore #resetUsage (memory/counter-slots.ts CounterSlots.resetUsage)
-- KEYS: marker, audit list, the shard's holds, then per counter its hash. ARGV: (as step), then
-- per counter kind, a, b (as for read). Returns 1, or 0 when the marker was there with this reset,
-- or -2 when it was there with another change. Holds expired by now are charged first: what expired
-- before the reset is usage the reset clears.
local now = tonumber(ARGV[1])
local before = applied_as()
if before == 2 then return -2 end
if before == 1 then return 0 end
expire_holds(KEYS[3], now)
for i = 4, #KEYS do
  local kind, hkey = ARGV[3 * i - 6], KEYS[i]
  if kind == 'b' then
    -- A balance has no usage to reset: its credits change only by writeCredits.
  elseif kind == 'f' then
    if redis.call('EXISTS', hkey) == 1 then redis.call('HSET', hkey, 'u', 0) end
  elseif kind == 'x' then
    local f = redis.call('HMGET', hkey, 's', 'e')
    if f[1] and tonumber(f[2]) > now then redis.call('HSET', hkey, 'u', 0) end
  elseif redis.call('EXISTS', hkey) == 1 then
    local flat = redis.call('HGETALL', hkey)
    for j = 1, #flat, 2 do
      if string.sub(flat[j], 1, 2) == 'u:' then redis.call('HDEL', hkey, flat[j]) end
    end
    redis.call('HSET', hkey, 'U', 0)
  end
end
done()
return 1
`

/** Reads the newest entries of an audit list; or (with `index`) records a sharded audit list in the index of audit lists, or lists them. */
const auditSource = `
-- twin: memory-admin.ts MemoryAdminBook.readAudit
-- KEYS: an audit list, or the index of audit lists. ARGV: 'read', count; or 'index', list; or 'lists'.
if ARGV[1] == 'index' then
  redis.call('SADD', KEYS[1], ARGV[2])
  return {}
elseif ARGV[1] == 'lists' then
  return redis.call('SMEMBERS', KEYS[1])
end
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
`

export const changeScript = luaScript('change', changeSource, 'a41aa4a31c8d01f960048d20a664fa70ba665cc0')
export const inspectScript = luaScript('inspect', inspectSource, '1f7c9fa2aa6ff74d8b2b72d240113cc96734149a')
export const resetScript = luaScript('reset', resetSource, '2d2cc35daffa59743ff71f7923bf70f400ff648a')
export const auditScript = luaScript('audit', auditSource, '3539ad3a26f834cc1144fb8163db9f3ca759e8a4')
