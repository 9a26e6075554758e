import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/**
 * Sets, adds to (grant) or removes one override in the shard's overrides hash, and drops the
 * hash's overrides that are over. Fields: `<family>\n<identifier>\n<a|g>` (identifier empty for the
 * whole family), values `amount until` (until `-` for none).
 */
const overrideSource = `${common}
-- KEYS: the shard's overrides. ARGV: now, field, kind ('a' or 'g'), amount ('' removes), until ('' none).
-- Returns the value in force afterwards, or ''.
local key, now, field, kind, amount, until_ = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if until_ == '' then until_ = '-' end
local value = nil
if amount ~= '' then
  value = amount .. ' ' .. until_
  local current = redis.call('HGET', key, field)
  local live = override_amount(current, now)
  if kind == 'g' and live then
    local _, ends = string.match(current, '^(%S+) (%S+)$')
    local later = '-'
    if ends ~= '-' and until_ ~= '-' then later = text(math.max(tonumber(ends), tonumber(until_))) end
    value = text(live + tonumber(amount)) .. ' ' .. later
  end
  redis.call('HSET', key, field, value)
else
  redis.call('HDEL', key, field)
end
local flat = redis.call('HGETALL', key)
for i = 1, #flat, 2 do
  if override_amount(flat[i + 1], now) == nil then redis.call('HDEL', key, flat[i]) end
end
return value or ''
`

/** Reads, per counter, the overrides in force and the last refusal. */
const inspectSource = `${common}
-- KEYS: the shard's overrides, then per counter its last-refusal key. ARGV: now, then per counter
-- family, identifier. Returns per counter five strings ('' for none): own allow, family allow, own
-- grant, family grant, last refusal.
local now, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS - 1 do
  local own, all = ARGV[2 * i] .. '\\n' .. ARGV[2 * i + 1] .. '\\n', ARGV[2 * i] .. '\\n\\n'
  local f = redis.call('HMGET', KEYS[1], own .. 'a', all .. 'a', own .. 'g', all .. 'g')
  for j = 1, 4 do
    if override_amount(f[j], now) == nil then table.insert(out, '') else table.insert(out, f[j]) end
  end
  table.insert(out, redis.call('GET', KEYS[1 + i]) or '')
end
return out
`

/** Zeroes the committed usage of counters in their current window; holds stay. */
const resetSource = `${common}
-- KEYS: per counter its hash. ARGV: now, then per counter kind, a, b (as for read).
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local kind, hkey = ARGV[3 * i - 1], KEYS[i]
  if kind == 'f' then
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
return 1
`

/** Appends an entry to the audit log (newest first, bounded), or reads it. */
const auditSource = `
-- KEYS: the audit list. ARGV: 'append', entry, retention; or 'read', count.
if ARGV[1] == 'append' then
  redis.call('LPUSH', KEYS[1], ARGV[2])
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
  return {}
end
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
`

export const overrideScript = luaScript('override', overrideSource, '9c2858446678400e61a3abc23f13791c7d7bb610')
export const inspectScript = luaScript('inspect', inspectSource, '6a2b30ea76ac0888cfce752c7c3a2b28d1488d4b')
export const resetScript = luaScript('reset', resetSource, '8617f28ba3a9c674471239ae4d96930d6730bc4c')
export const auditScript = luaScript('audit', auditSource, '151b623054ece45c3e17c1987e9ff335bf9683fd')
