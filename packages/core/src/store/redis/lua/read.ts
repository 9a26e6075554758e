import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** Reads counters (used, reserved, window start, reset) after expiring stale holds. */
const source = `${common}
-- twin: memory-store.ts MemoryStore.read
-- KEYS: the shard's holds, the shard's overrides, then per counter its hash. ARGV: now, counter
-- count; then per counter kind, a, b, limit ('' none), family, identifier. Returns per counter
-- used, reserved, window start, reset, limit in force (-1: the one given).
local now, n = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_holds(KEYS[1], now)
local overridden = redis.call('EXISTS', KEYS[2]) == 1
local out = {}
for i = 1, n do
  local base = 2 + (i - 1) * 6
  local kind, a, b, given = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local hkey = KEYS[2 + i]
  local v = view(kind, hkey, now, ARGV[1], a, b)
  if kind == 'r' then
    save_moved(hkey, v.st)
    v.reset = rolling_reset(hkey, now, tonumber(a), tonumber(b))
  end
  local limit = -1
  if overridden and given ~= '' then
    local inForce = limit_in_force(KEYS[2], given, ARGV[base + 5], ARGV[base + 6], now)
    if inForce ~= given then limit = tonumber(inForce) end
  end
  local o = #out
  out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = v.used, v.reserved, v.start, v.reset, limit
end
return out
`

export const readScript = luaScript('read', source, 'c1dd88cb72084182da4428f9a4ba6a6a5941d13a')
