/**
 * Lua of credit balances (`{ kind: 'balance' }` counters), shared by every script: a hold on a
 * balance may expire inside any of them, and its charge must be written there.
 *
 * Keys of one balance, all in the shard of its counter hash (`…c:<family>:<identifier>:b`), none
 * with a TTL (paid credits never leave by eviction):
 * - the counter hash: `B` the balance (Σ remaining of the grants, what the ledger sums to), `r`
 *   reserved, `ne` the earliest `expiresAt` of a grant (absent: none expires), `u:<lease>` what
 *   an expired lease's charge left unpaid (until its late settle, or until it is forgotten);
 * - `<hash>:g`, the grants: field the grant's key, value `amount remaining priority expiresAt
 *   grantedAt` (`expiresAt` `-` for none); a grant stays, even spent, until it expires (a refund
 *   returns credits to it);
 * - `<hash>:l`, the ledger: a list of JSON rows, row `seq` at index `seq - 1`;
 * - `<hash>:k`, the keys written: field the `writeCredits` key, value its change's fingerprint.
 *
 * Expiry rows recorded by a script are kept in `EXPIRED[hash]` until the script reports them with
 * the first counter of a request that names the balance (see `put_expired`).
 */
export const creditsLua = `
-- A balance's reset and retry time: never (Number.MAX_SAFE_INTEGER). As text: ioredis 6 decodes
-- this integer reply one off.
local NEVER = '9007199254740991'
local EXPIRED = {}

-- twin: redis-keys.ts RedisKeys.balance
local function balance_keys(hkey)
  return hkey .. ':g', hkey .. ':l', hkey .. ':k'
end

-- A balance's grants, as stored (see credits.ts), in no order.
-- twin: lua-credits.ts grantOf (reads the same format)
local function load_grants(gkey)
  local flat, grants = redis.call('HGETALL', gkey), {}
  for i = 1, #flat, 2 do
    local amount, remaining, priority, ends, granted = string.match(flat[i + 1], '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
    table.insert(grants, {
      key = flat[i], amount = tonumber(amount), remaining = tonumber(remaining), priority = tonumber(priority),
      expiresAt = tonumber(ends), grantedAt = tonumber(granted),
    })
  end
  return grants
end

local function save_grant(gkey, g)
  local ends = '-'
  if g.expiresAt then ends = text(g.expiresAt) end
  redis.call('HSET', gkey, g.key, text(g.amount) .. ' ' .. text(g.remaining) .. ' ' .. text(g.priority) .. ' ' .. ends .. ' ' .. text(g.grantedAt))
end

-- twin: credit-protocol.ts creditSpendOrder
local function spends_before(a, b)
  if a.priority ~= b.priority then return a.priority < b.priority end
  local aEnd, bEnd = a.expiresAt or math.huge, b.expiresAt or math.huge
  if aEnd ~= bEnd then return aEnd < bEnd end
  if a.grantedAt ~= b.grantedAt then return a.grantedAt < b.grantedAt end
  return a.key < b.key
end

-- twin: algebra/credits.ts inSpendOrder
local function sort_grants(gkey)
  local grants = load_grants(gkey)
  table.sort(grants, spends_before)
  return grants
end

-- Appends a row to a balance's ledger (seq: its place in the list) and returns it, as JSON.
-- extra: grant, leaseId, record, by, reason (strings), drawn (list of {grant, amount}), unpaid.
-- twin: algebra/credits.ts ledgerRow (lua-credits.ts ledgerEntryOf reads it back)
local function append_row(lkey, now, kind, amount, balanceAfter, extra)
  local seq = redis.call('LLEN', lkey) + 1
  local parts = { '"seq":' .. seq, '"at":' .. text(now), '"kind":"' .. kind .. '"', '"amount":' .. text(amount), '"balanceAfter":' .. text(balanceAfter) }
  for _, name in ipairs({ 'grant', 'leaseId', 'record', 'by', 'reason' }) do
    if extra[name] then table.insert(parts, '"' .. name .. '":' .. cjson.encode(extra[name])) end
  end
  if extra.drawn then
    local drawn = {}
    for _, d in ipairs(extra.drawn) do table.insert(drawn, '{"grant":' .. cjson.encode(d.grant) .. ',"amount":' .. text(d.amount) .. '}') end
    table.insert(parts, '"drawn":[' .. table.concat(drawn, ',') .. ']')
  end
  if extra.unpaid and extra.unpaid > 0 then table.insert(parts, '"unpaid":' .. text(extra.unpaid)) end
  local row = '{' .. table.concat(parts, ',') .. '}'
  redis.call('RPUSH', lkey, row)
  return row
end

-- twin: algebra/credits.ts expiryRows (their order: earliest expiry first, then key)
local function expiry_first(a, b)
  if a.expiresAt ~= b.expiresAt then return a.expiresAt < b.expiresAt end
  return a.key < b.key
end

-- Removes every grant of a balance due at now (now >= expiresAt); each with something left is an
-- expiry row of minus its remainder, at its expiresAt. Rows wait in EXPIRED to be reported.
-- twin: algebra/credits.ts expireGrants, expiryRows
local function expire_grants(hkey, now)
  local f = redis.call('HMGET', hkey, 'ne', 'B')
  local due = tonumber(f[1])
  if due == nil or due > now then return end
  local gkey, lkey = balance_keys(hkey)
  local balance, nextEnd, expired = tonumber(f[2]) or 0, nil, {}
  for _, g in ipairs(load_grants(gkey)) do
    if g.expiresAt and g.expiresAt <= now then
      redis.call('HDEL', gkey, g.key)
      if g.remaining > 0 then table.insert(expired, g) end
    elseif g.expiresAt and (nextEnd == nil or g.expiresAt < nextEnd) then
      nextEnd = g.expiresAt
    end
  end
  table.sort(expired, expiry_first)
  for _, g in ipairs(expired) do
    balance = balance - g.remaining
    EXPIRED[hkey] = EXPIRED[hkey] or {}
    table.insert(EXPIRED[hkey], append_row(lkey, g.expiresAt, 'expiry', 0 - g.remaining, balance, { grant = g.key }))
  end
  redis.call('HSET', hkey, 'B', text(balance))
  if nextEnd then redis.call('HSET', hkey, 'ne', text(nextEnd)) else redis.call('HDEL', hkey, 'ne') end
end

-- Reports the expiry rows this script recorded on a balance and has not reported yet: their
-- count, then each row (each row is reported once).
local function put_expired(out, hkey)
  local rows = EXPIRED[hkey] or {}
  EXPIRED[hkey] = nil
  table.insert(out, tostring(#rows))
  for _, row in ipairs(rows) do table.insert(out, row) end
end

-- A balance counter's state at now, after expiring its due grants: its balance is its limit.
-- twin: algebra/credits.ts creditRoom (the room is balance - reserved, checked by reserve)
local function balance_view(hkey, now)
  expire_grants(hkey, now)
  local f = redis.call('HMGET', hkey, 'B', 'r')
  return { used = 0, reserved = tonumber(f[2]) or 0, start = 0, reset = NEVER, placement = '0', balance = tonumber(f[1]) or 0 }
end

-- Draws amount from a balance's grants (all unexpired: expire_grants ran) in spending order.
-- Returns what came from each grant, and what they could not pay.
-- twin: algebra/credits.ts drawCredits
local function draw_credits(gkey, amount)
  local left, drawn = amount, {}
  for _, g in ipairs(sort_grants(gkey)) do
    if left == 0 then break end
    if g.remaining > 0 then
      local take = math.min(left, g.remaining)
      g.remaining, left = g.remaining - take, left - take
      save_grant(gkey, g)
      table.insert(drawn, { grant = g.key, amount = take })
    end
  end
  return drawn, left
end

-- A lease's charge of amount (> 0) on a balance: drawn from the grants, never below zero, one
-- charge row with the lease's record. Returns the balance before and after, and what was unpaid.
-- twin: algebra/credits.ts drawCredits, chargeRow
local function charge_credits(hkey, now, amount, leaseId, record)
  local gkey, lkey = balance_keys(hkey)
  local before = tonumber(redis.call('HGET', hkey, 'B')) or 0
  local drawn, unpaid = draw_credits(gkey, amount)
  local after = before - (amount - unpaid)
  redis.call('HSET', hkey, 'B', text(after))
  local extra = { leaseId = leaseId, drawn = drawn, unpaid = unpaid }
  if record ~= '' then extra.record = record end
  append_row(lkey, now, 'charge', 0 - (amount - unpaid), after, extra)
  return before, after, unpaid
end

-- Gives amount (> 0) of a lease's charge back: to the unexpired grants in reverse spending order
-- (the most recently drawn first), each up to what it granted; the rest as a new grant
-- refund:<lease> that never expires. One refund row. Returns the balance before and after.
-- twin: algebra/credits.ts refundCredits, refundRow
local function refund_credits(hkey, now, amount, leaseId, record)
  local gkey, lkey, kkey = balance_keys(hkey)
  local before = tonumber(redis.call('HGET', hkey, 'B')) or 0
  local grants, left = sort_grants(gkey), amount
  for i = #grants, 1, -1 do
    local g = grants[i]
    local room = math.min(left, g.amount - g.remaining)
    if room > 0 then
      g.remaining, left = g.remaining + room, left - room
      save_grant(gkey, g)
    end
  end
  if left > 0 then
    local key = 'refund:' .. leaseId
    local g = { key = key, amount = 0, remaining = 0, priority = 50, grantedAt = now }
    for _, each in ipairs(grants) do
      if each.key == key then g = each end
    end
    g.amount, g.remaining = g.amount + left, g.remaining + left
    save_grant(gkey, g)
    redis.call('HSET', kkey, key, 'refund')
  end
  local after = before + amount
  redis.call('HSET', hkey, 'B', text(after))
  local extra = { leaseId = leaseId }
  if record ~= '' then extra.record = record end
  append_row(lkey, now, 'refund', amount, after, extra)
  return before, after
end

-- A balance's hold that expired: returned, and charged unless the lease said release. What the
-- grants could not pay is kept (u:<lease>) so that a late settle refunds only what was paid.
-- twin: algebra/holds.ts expiryChange, with algebra/credits.ts drawCredits and chargeRow
local function expire_balance_hold(hkey, now, amount, charge, leaseId, record)
  expire_grants(hkey, now)
  redis.call('HINCRBY', hkey, 'r', -amount)
  if not charge or amount == 0 then return end
  local _, _, unpaid = charge_credits(hkey, now, amount, leaseId, record)
  if unpaid > 0 then redis.call('HSET', hkey, 'u:' .. leaseId, text(unpaid)) end
end

-- A settle's charge on a balance. fate: 'holding' (the hold is returned), 'charged' (its expiry
-- charged held, of which it left u:<lease> unpaid: the lease owes what it used less what the expiry
-- paid, drawn now, or refunded when it paid more; credits never paid are never refunded) or
-- 'released'. Returns the balance before and after, and what was unpaid.
-- twin: algebra/credits.ts creditSettleChange (which takes the expiry as paid in full)
local function settle_credits(hkey, now, fate, held, amount, leaseId, record)
  expire_grants(hkey, now)
  local before = tonumber(redis.call('HGET', hkey, 'B')) or 0
  if fate == 'holding' and held > 0 then redis.call('HINCRBY', hkey, 'r', -held) end
  local due = amount
  if fate == 'charged' then
    local unpaidThen = tonumber(redis.call('HGET', hkey, 'u:' .. leaseId)) or 0
    redis.call('HDEL', hkey, 'u:' .. leaseId)
    due = amount - (held - unpaidThen)
    if due < 0 then
      refund_credits(hkey, now, 0 - due, leaseId, record)
      return before, tonumber(redis.call('HGET', hkey, 'B')) or 0, 0
    end
  end
  if due == 0 then return before, before, 0 end
  local _, after, unpaid = charge_credits(hkey, now, due, leaseId, record)
  return before, after, unpaid
end
`
