import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** Settles leases: charges what was used, returns the rest of each hold, once. */
const source = `${common}
-- KEYS: the shard's holds; then per lease its lease key (see keep_lease), and per charge its hash.
-- ARGV: lease count, the earliest now (for expiring holds: a lease past its expiry is charged
--   first, so its settle replaces that charge, as on every balance's ledger); then per lease a
--   settleLease record and its charges' settleCharge records (see script-fields.ts).
-- twin: memory-store.ts MemoryStore.settle
-- Returns the list of leases' answers, and the list of balance expiries (per balance charge, see
--   put_expired). Per lease: -1 when it was already settled (a retry: nothing is charged again);
--   else the charge count, then per charge used before and after — for a balance, five values:
--   0, 0, balance before and after, unpaid.
local holds = KEYS[1]
expire_holds(holds, tonumber(ARGV[2]))

-- twin: memory-store.ts MemoryStore.settle (algebra/holds.ts settleChange, settlesInPlace)
local function settle_one(kbase, lease, charges, out, expired)
  local now, n = tonumber(lease.now), #charges
  local leaseKey = KEYS[kbase + 1]
  kbase = kbase + 1
  -- The hold as reserve added it; its record is here for an entry written in this same step.
  local member = redis.call('HGET', leaseKey, 'm')
  if not member then
    table.insert(out, -1)
    return
  end
  -- Holding: return the holds and charge. Expired and charged: charge the difference. Expired and
  -- returned: charge only. None: settled before (a retry whose answer was lost), nothing again.
  local returned = redis.call('ZREM', holds, member) == 1
  local replacing = not returned and redis.call('ZREM', holds, member .. '\\n!c') == 1
  if not returned and not replacing and redis.call('ZREM', holds, member .. '\\n!') == 0 then
    table.insert(out, -1)
    return
  end
  -- Settled while holding: its reservation can no longer be sent again (an expired one is kept).
  if returned then redis.call('DEL', leaseKey) end
  table.insert(out, n)
  for i, c in ipairs(charges) do
    local kind, placement, held, amount = c.kind, c.placement, tonumber(c.held), tonumber(c.amount)
    local a, b = c.a, c.b
    local hkey = KEYS[kbase + i]
    if replacing then amount = amount - held end
    if not returned then held = 0 end
    local before, live = 0, true
    if kind == 'b' then
      local fate = returned and 'holding' or (replacing and 'charged' or 'released')
      local bBefore, bAfter, unpaid = settle_credits(hkey, now, fate, tonumber(c.held), tonumber(c.amount), lease.leaseId, record_of(member))
      for _, value in ipairs({ 0, 0, bBefore, bAfter, unpaid }) do table.insert(out, value) end
      put_expired(expired, hkey)
    elseif kind == 'f' then
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
    if kind == 'b' then
      -- its five values are out already
    elseif live then
      table.insert(out, before)
      table.insert(out, before + amount)
    else
      table.insert(out, 0)
      table.insert(out, 0)
    end
  end
end

local out, expired, kbase, base = {}, {}, 1, 2
for _ = 1, tonumber(ARGV[1]) do
  local lease, charges = nil, {}
  lease, base = take(base, 'settleLease')
  for i = 1, tonumber(lease.count) do charges[i], base = take(base, 'settleCharge') end
  settle_one(kbase, lease, charges, out, expired)
  kbase = kbase + 1 + #charges
end
return { out, expired }
`

export const settleScript = luaScript('settle', source, '842c5d924864a09517b670a2971109e1a9c19cf0')
