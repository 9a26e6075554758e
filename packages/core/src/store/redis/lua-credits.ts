import { InsufficientCreditsError } from '../../shared/errors.js'
import { checkCreditWrite, checkNewTopUpExpiry, creditsTooLarge, creditWriteApplies, creditWriteFingerprint, inSpendOrder } from '../algebra/index.js'
import {
  type BalanceRead,
  type BalanceState,
  type CreditGrant,
  type CreditWrite,
  type CreditWriteOutcome,
  defaultCreditPriority,
  type LedgerEntry,
  type LedgerRead,
  type StoreCredits,
} from '../credit-protocol.js'
import { readBalancesScript, readLedgerScript, writeCreditsScript } from './lua/credit-scripts.js'
import type { RedisKeys } from './redis-keys.js'
import { runScript, type ScriptTransport } from './script-runner.js'
import { list } from './script-values.js'

/** A ledger row as the scripts store it (JSON; `@upstash/redis` hands it over parsed). Lua twin: `append_row` in lua/credits.ts. */
export function ledgerEntryOf(row: unknown): LedgerEntry {
  return (typeof row === 'string' ? JSON.parse(row) : row) as LedgerEntry
}

/**
 * The rows of a reply's list of expiries (per balance counter, in the request's order: a count,
 * then that many rows), as read from `offset`. Lua twin: `put_expired` in lua/credits.ts.
 */
export function expiredAt(reply: readonly unknown[], offset: number): { rows: LedgerEntry[]; next: number } {
  const count = Number(reply[offset])
  return { rows: reply.slice(offset + 1, offset + 1 + count).map(ledgerEntryOf), next: offset + 1 + count }
}

/** A grant as the scripts store it: field its key, value `amount remaining priority expiresAt grantedAt`. Lua twin: `load_grants`, `save_grant`. */
function grantOf(key: string, value: string): CreditGrant {
  const [amount, remaining, priority, expiresAt, grantedAt] = value.split(' ')
  const grant = { key, amount: Number(amount), remaining: Number(remaining), priority: Number(priority), grantedAt: Number(grantedAt) }
  return expiresAt === '-' ? grant : { ...grant, expiresAt: Number(expiresAt) }
}

/** A balance state in a reply: balance, reserved, the grants hash (flat), the expiries. Lua twin: `balance_state` in lua/credit-scripts.ts. */
function balanceStateOf(reply: unknown): BalanceState {
  const [balance, reserved, flat, expired] = list(reply, 'read-balances', 'any') as [unknown, unknown, unknown[], unknown]
  const grants: CreditGrant[] = []
  for (let index = 0; index < flat.length; index += 2) {
    const grant = grantOf(String(flat[index]), String(flat[index + 1]))
    if (grant.remaining > 0) grants.push(grant)
  }
  const { rows } = expiredAt(list(expired, 'read-balances', 'any'), 0)
  const state = { balance: Number(balance), reserved: Number(reserved), grants: inSpendOrder(grants) }
  return rows.length > 0 ? { ...state, expired: rows } : state
}

/** `by` and `reason` as the write script takes them: `-` for none, else `+` and the text. */
function optional(text: string | undefined): string {
  return text === undefined ? '-' : `+${text}`
}

/**
 * Credit grants and ledgers on Redis (`StoreCredits`), beside the balance counters the reserve and
 * settle scripts hold and charge. One script per call, atomic with the ledger row it writes.
 */
export class LuaCredits implements StoreCredits {
  readonly #transport: ScriptTransport
  readonly #keys: RedisKeys
  readonly #timeoutMs: number

  constructor(transport: ScriptTransport, keys: RedisKeys, timeoutMs: number) {
    this.#transport = transport
    this.#keys = keys
    this.#timeoutMs = timeoutMs
  }

  async writeCredits(request: CreditWrite): Promise<CreditWriteOutcome> {
    checkCreditWrite(request)
    const { change, shard } = request
    const keys = this.#keys.balance(request, shard)
    const fingerprint = creditWriteFingerprint(request)
    const [expiresAt, priority] = change.kind === 'topup' ? [change.expiresAt, change.priority] : [undefined, undefined]
    const args = [
      String(request.now),
      request.key,
      change.kind,
      String(change.amount),
      expiresAt === undefined ? '' : String(expiresAt),
      String(priority ?? defaultCreditPriority),
      fingerprint,
      optional(request.by),
      optional(request.reason),
    ]
    const reply = list(
      await runScript(this.#transport, writeCreditsScript, [this.#keys.holds(shard), keys.hash, keys.grants, keys.ledger, keys.written], args, this.#timeoutMs),
      'write-credits',
      'any',
    )
    const applied = Number(reply[0])
    if (applied === -2) creditWriteApplies(String(reply[1]), fingerprint, request.key)
    if (applied === -5) checkNewTopUpExpiry(request)
    if (applied === -3) throw new InsufficientCreditsError({ requested: -change.amount, balance: Number(reply[1]), unit: 'counter' })
    if (applied === -4) throw creditsTooLarge(change.amount, Number(reply[1]))
    return { applied: applied === 1, balance: balanceStateOf(reply[1]) }
  }

  async readBalances(request: BalanceRead): Promise<readonly BalanceState[]> {
    const keys = [this.#keys.holds(request.shard)]
    for (const ref of request.balances) {
      const { hash, grants } = this.#keys.balance(ref, request.shard)
      keys.push(hash, grants)
    }
    const reply = list(await runScript(this.#transport, readBalancesScript, keys, [String(request.now)], this.#timeoutMs), 'read-balances', 'any')
    return reply.map(balanceStateOf)
  }

  async readLedger(request: LedgerRead): Promise<readonly LedgerEntry[]> {
    const { ledger } = this.#keys.balance(request, request.shard)
    const after = Math.max(0, Math.floor(request.after ?? 0))
    const limit = Math.max(0, Math.floor(request.limit))
    const reply = list(await runScript(this.#transport, readLedgerScript, [ledger], [String(after), String(limit)], this.#timeoutMs), 'read-ledger', 'any')
    return reply.map(ledgerEntryOf)
  }
}
