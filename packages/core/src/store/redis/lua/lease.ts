import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** Moves an unsettled lease's expiry (`QuotaStore.extend`). */
const extendSource = `${common}
-- KEYS: the shard's holds, the lease key (see keep_lease). ARGV: now, the new expiry.
-- Returns 1 when moved; 0 when the lease no longer holds (settled, expired or unknown).
-- twin: memory-store.ts MemoryStore.extend
local holds, leaseKey = KEYS[1], KEYS[2]
local now, expiresAt = tonumber(ARGV[1]), tonumber(ARGV[2])
expire_holds(holds, now)
local member = redis.call('HGET', leaseKey, 'm')
if not member or not redis.call('ZSCORE', holds, member) then return 0 end
redis.call('ZADD', holds, expiresAt, member)
redis.call('HSET', leaseKey, 'e', text(expiresAt))
keep_lease(leaseKey, expiresAt, now)
keep_holds(holds, expiresAt, now)
return 1
`

/** What the store keeps of one lease (\`QuotaStore.inspectLease\`). */
const inspectSource = `${common}
-- KEYS: the shard's holds, the lease key. ARGV: now.
-- Returns {} when the lease is forgotten (settled, or never held); else its state (0 holding,
-- 1 expired and charged, 2 expired and returned), expiry, '#' and its record (so that no client
-- decodes a JSON record on its own), and first answer.
-- twin: memory-store.ts MemoryStore.inspectLease
local holds, leaseKey = KEYS[1], KEYS[2]
expire_holds(holds, tonumber(ARGV[1]))
local f = redis.call('HMGET', leaseKey, 'm', 'e', 'a')
if not f[1] then return {} end
local state = nil
if redis.call('ZSCORE', holds, f[1]) then
  state = 0
elseif redis.call('ZSCORE', holds, f[1] .. '\\n!c') then
  state = 1
elseif redis.call('ZSCORE', holds, f[1] .. '\\n!') then
  state = 2
else
  return {}
end
return { state, f[2], '#' .. record_of(f[1]), f[3] }
`

export const extendScript = luaScript('extend', extendSource, 'e0eee3e3559cd8c6809c10f5c8b6b5bb0bd4088a')
export const inspectLeaseScript = luaScript('inspect-lease', inspectSource, '8c4b14652b4b42b67cb860b2c88a76d69d439387')
