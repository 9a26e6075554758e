import { luaScript } from '../script-runner.js'
import { common } from './common.js'

/** A balance's state in a reply: its balance, reserved, grants (`HGETALL` of its grants hash) and unreported expiry rows. */
const stateLua = `
-- twin: lua-credits.ts balanceStateOf (reads it)
local function balance_state(hkey, gkey)
  local f = redis.call('HMGET', hkey, 'B', 'r')
  local expired = {}
  put_expired(expired, hkey)
  -- As text: clients decode integer replies near 2^53 a few units off.
  return { text(tonumber(f[1]) or 0), text(tonumber(f[2]) or 0), redis.call('HGETALL', gkey), expired }
end
`

/** Adds or corrects credits once per key, forever (`StoreCredits.writeCredits`). */
const writeSource = `${common}${stateLua}
-- KEYS: the shard's holds, then the balance's counter hash, grants, ledger and written keys.
-- ARGV: now, key, kind ('topup' or 'correction'), amount, expiresAt ('' none), priority,
--   fingerprint of the change, by and reason ('-' none, else '+' and the text).
-- Returns { applied (1, or 0: the key was written before with this change), balance state }; or
--   { -2, the key's fingerprint } when the key was written with another change, { -3, balance }
--   when a negative correction is more than the balance, { -4, balance } when a credit would take the
--   balance past 2^53 - 1 (sums no longer exact), { -5 } when a new top-up's expiresAt is not
--   after now (a replay of one is a replay). Nothing is written then.
-- twin: algebra/credits.ts applyCreditWrite, creditWriteApplies, checkNewTopUpExpiry
local holds, hkey, gkey, lkey, kkey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local now, key, kind, amount, fingerprint = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[7]
local function optional(value)
  if value == '-' then return nil end
  return string.sub(value, 2)
end
expire_holds(holds, now)
expire_grants(hkey, now)
local seen = redis.call('HGET', kkey, key)
if seen == fingerprint then return { 0, balance_state(hkey, gkey) } end
if seen then return { -2, seen } end
if kind == 'topup' and ARGV[5] ~= '' and tonumber(ARGV[5]) <= now then return { -5 } end
local extra = { by = optional(ARGV[8]), reason = optional(ARGV[9]) }
local balance = tonumber(redis.call('HGET', hkey, 'B')) or 0
if amount < 0 then
  if balance < 0 - amount then return { -3, text(balance) } end
  extra.drawn = draw_credits(gkey, 0 - amount)
else
  if balance + amount > 9007199254740991 then return { -4, text(balance) } end
  local g = { key = key, amount = amount, remaining = amount, priority = tonumber(ARGV[6]), expiresAt = tonumber(ARGV[5]), grantedAt = now }
  save_grant(gkey, g)
  local due = tonumber(redis.call('HGET', hkey, 'ne'))
  if g.expiresAt and (due == nil or g.expiresAt < due) then redis.call('HSET', hkey, 'ne', text(g.expiresAt)) end
  extra.grant = key
end
balance = balance + amount
redis.call('HSET', hkey, 'B', text(balance))
append_row(lkey, now, kind, amount, balance, extra)
redis.call('HSET', kkey, key, fingerprint)
return { 1, balance_state(hkey, gkey) }
`

/** Reads balances after expiring what is due (`StoreCredits.readBalances`). */
const readSource = `${common}${stateLua}
-- KEYS: the shard's holds, then per balance its counter hash and its grants. ARGV: now.
-- Returns per balance its state.
-- twin: memory-store.ts MemoryStore credits.readBalances
local now, out = tonumber(ARGV[1]), {}
expire_holds(KEYS[1], now)
for i = 2, #KEYS, 2 do
  expire_grants(KEYS[i], now)
  table.insert(out, balance_state(KEYS[i], KEYS[i + 1]))
end
return out
`

/** Reads ledger rows (`StoreCredits.readLedger`). */
const ledgerSource = `
-- KEYS: a balance's ledger. ARGV: after (rows with a greater seq), limit. Returns the rows, oldest first.
-- twin: memory-store.ts MemoryStore credits.readLedger
local after, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
if limit < 1 then return {} end
return redis.call('LRANGE', KEYS[1], after, after + limit - 1)
`

export const writeCreditsScript = luaScript('write-credits', writeSource, '3ece486d7208476eeb5279e10a086a52994b618b')
export const readBalancesScript = luaScript('read-balances', readSource, '0b1725882a7a435c888f233a54fe4ce2ae634dfd')
export const readLedgerScript = luaScript('read-ledger', ledgerSource, 'a9b24a571f123c0c162dc55fc2f3f180825301e9')
