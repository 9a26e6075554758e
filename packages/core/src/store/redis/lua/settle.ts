import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** Settles leases: charges what was used, returns the rest of each hold, once. */
const source = `${common}
-- twin: memory-store.ts MemoryStore.settle
-- KEYS: the shard's holds; then per lease its lease key (see reserve), and per charge its hash.
-- ARGV: lease count; then per lease: now, leaseId, charge count, and per charge six values: kind,
--   placement, held, amount, a, b (as for reserve).
-- Returns per lease: -1 when it was already settled (a retry: nothing is charged again); else the
--   charge count, then per charge used before and after.
local holds = KEYS[1]

-- twin: memory-store.ts MemoryStore.settle (algebra/holds.ts settleChange, settlesInPlace)
local function settle_one(kbase, abase, out)
  local now, leaseId, n = tonumber(ARGV[abase + 1]), ARGV[abase + 2], tonumber(ARGV[abase + 3])
  local leaseKey = KEYS[kbase + 1]
  kbase = kbase + 1
  local member = leaseId
  for i = 1, n do
    local base = abase + 3 + (i - 1) * 6
    if tonumber(ARGV[base + 3]) > 0 then member = member .. '\\n' .. ARGV[base + 1] .. ' ' .. ARGV[base + 2] .. ' ' .. ARGV[base + 3] .. ' ' .. KEYS[kbase + i] end
  end
  -- Holding: return the holds and charge. Expired and charged: charge the difference. Expired and
  -- returned: charge only. None: settled before (a retry whose answer was lost), nothing again.
  local returned = redis.call('ZREM', holds, member) == 1 or redis.call('ZREM', holds, member .. '\\n=r') == 1
  local replacing = not returned and redis.call('ZREM', holds, member .. '\\n!c') == 1
  if not returned and not replacing and redis.call('ZREM', holds, member .. '\\n=r\\n!') == 0 and redis.call('ZREM', holds, member .. '\\n!') == 0 then
    table.insert(out, -1)
    return n
  end
  -- Settled while holding: its reservation can no longer be sent again (an expired one is kept).
  if returned then redis.call('DEL', leaseKey) end
  table.insert(out, n)
  for i = 1, n do
    local base = abase + 3 + (i - 1) * 6
    local kind, placement, held, amount = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
    local a, b = ARGV[base + 5], ARGV[base + 6]
    local hkey = KEYS[kbase + i]
    if replacing then amount = amount - held end
    if not returned then held = 0 end
    local before, live = 0, true
    if kind == 'f' then
      local f = redis.call('HMGET', hkey, 'u', 'r', 'x')
      before = tonumber(f[1]) or 0
      -- A window evicted before a late commit comes back as a new key: give it a lifetime.
      local until_ = nil
      if not f[3] then until_ = math.max(tonumber(b), now) end
      if until_ then
        redis.call('HSET', hkey, 'u', before + amount, 'r', (tonumber(f[2]) or 0) - held, 'x', text(until_))
      else
        redis.call('HSET', hkey, 'u', before + amount, 'r', (tonumber(f[2]) or 0) - held)
      end
      live_until(hkey, until_, now)
    elseif kind == 'x' then
      local f = redis.call('HMGET', hkey, 's', 'u', 'r')
      live = f[1] == placement
      -- A flexi window that has been replaced is over: its late charge cannot affect any limit.
      if live then
        before = tonumber(f[2]) or 0
        redis.call('HSET', hkey, 'u', before + amount, 'r', (tonumber(f[3]) or 0) - held)
      end
    else
      local length, bucket = tonumber(a), tonumber(b)
      local st = rolling(hkey, now, length, bucket, placement)
      live = tonumber(placement) >= st.lo
      st.r = st.r - held
      if live then
        before = st.U
        st.R, st.U, st.u = st.R - held, st.U + amount, st.u + amount
      end
      local until_ = nil
      if st.x == nil then until_ = now + length + bucket end
      save_rolling(hkey, st, placement, until_)
      live_until(hkey, until_, now)
    end
    if live then
      table.insert(out, before)
      table.insert(out, before + amount)
    else
      table.insert(out, 0)
      table.insert(out, 0)
    end
  end
  return n
end

local out, kbase, abase = {}, 1, 1
for _ = 1, tonumber(ARGV[1]) do
  local n = settle_one(kbase, abase, out)
  kbase, abase = kbase + 1 + n, abase + 3 + 6 * n
end
return out
`

export const settleScript = luaScript('settle', source, '7da0137bed803390f6781ced7725e16245b5bcd6')
