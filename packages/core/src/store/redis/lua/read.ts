import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** Reads counters (used, reserved, window start, reset) after expiring stale holds. */
const source = `${common}
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

export const readScript = luaScript('read', source, '634a96eba01fd41f59db9fb4cd42a58a42caac11')
