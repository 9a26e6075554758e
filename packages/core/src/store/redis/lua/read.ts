import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** Reads counters (used, reserved, window start, reset) after expiring stale holds. */
const source = `${common}
-- twin: memory-store.ts MemoryStore.read
-- KEYS: the shard's holds, the shard's overrides, then per counter its hash. ARGV: now, counter
-- count; then per counter a readCounter record (see script-fields.ts). Returns the list of per
-- counter snapshot records (limit: -1 for the one given; a balance's is its balance), and the list
-- of balance expiries (per balance counter, see put_expired).
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_holds(KEYS[1], now)
local overridden = redis.call('EXISTS', KEYS[2]) == 1
local out, expired = {}, {}
local base = 2
for i = 1, n do
  local c
  c, base = take(base, 'readCounter')
  local kind, a, b, given = c.kind, c.a, c.b, c.limit
  local hkey = KEYS[2 + i]
  local v = view(kind, hkey, now, ARGV[1], a, b)
  if kind == 'r' then
    save_moved(hkey, v.st)
    v.reset = rolling_reset(hkey, now, tonumber(a), tonumber(b))
  end
  local limit = -1
  if kind == 'b' then
    limit = v.balance
    put_expired(expired, hkey)
  elseif overridden and given ~= '' then
    local inForce = limit_in_force(KEYS[2], given, c.family, c.identifier, now)
    if inForce ~= given then limit = tonumber(inForce) end
  end
  put(out, 'snapshot', { used = v.used, reserved = v.reserved, windowStart = v.start, resetAt = v.reset, limit = limit })
end
return { out, expired }
`

export const readScript = luaScript('read', source, '7080d02a4ea9d74f6d45d50070339eeaadd457b9')
