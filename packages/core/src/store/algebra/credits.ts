import { InsufficientCreditsError, QuotaInputError } from '../../shared/errors.js'
import { type CreditGrant, type CreditWrite, creditSpendOrder, defaultCreditPriority, type LedgerEntry } from '../credit-protocol.js'

/**
 * Credit balances as numbers, with no storage: spending grants in order, expiring them, giving a
 * charge back, an operator's correction, ledger rows, and the once-per-key check of a write. Every
 * store keeps its grants and ledger its own way and asks these functions what a change means. The
 * Lua scripts (`store/redis/lua/credits.ts`) are the one other implementation: each function names
 * its twin.
 *
 * Grants are given and returned as arrays of plain values in spending order (`creditSpendOrder`);
 * a function never changes its input.
 */

/** What one grant gave to a charge (or took back from a refund). */
export interface GrantDraw {
  readonly grant: string
  readonly amount: number
}

/** A ledger row before it is numbered: `seq` and `balanceAfter` come from the ledger's last row (`ledgerRow`). */
export type LedgerChange = Omit<LedgerEntry, 'seq' | 'balanceAfter'>

/** Σ remaining of the grants: the balance. Lua twin: `balance_of` in redis/lua/credits.ts. */
export function balanceOf(grants: readonly CreditGrant[]): number {
  let balance = 0
  for (const grant of grants) balance += grant.remaining
  return balance
}

/** What a reservation can still hold on a balance: the balance less what open leases hold (may be negative after an expiry). Lua twin: `credit_room` in redis/lua/credits.ts. */
export function creditRoom(balance: number, reserved: number): number {
  return balance - reserved
}

/** The grants in spending order (lower priority, earliest expiry, earliest granted). Lua twin: `sort_grants` in redis/lua/credits.ts. */
export function inSpendOrder(grants: readonly CreditGrant[]): CreditGrant[] {
  return [...grants].sort(creditSpendOrder)
}

/**
 * Draws `amount` from the grants in spending order, each down to zero at most; what they cannot
 * pay is `unpaid` (the balance never goes below zero). Grants drawn to zero stay (a refund may
 * return to them) until they expire. Lua twin: `draw_credits` in redis/lua/credits.ts.
 */
export function drawCredits(grants: readonly CreditGrant[], amount: number): { grants: CreditGrant[]; drawn: GrantDraw[]; unpaid: number } {
  let left = amount
  const drawn: GrantDraw[] = []
  const next = inSpendOrder(grants).map((grant) => {
    if (left === 0 || grant.remaining === 0) return grant
    const take = Math.min(left, grant.remaining)
    left -= take
    drawn.push({ grant: grant.key, amount: take })
    return { ...grant, remaining: grant.remaining - take }
  })
  return { grants: next, drawn, unpaid: left }
}

/**
 * Removes the grants whose `expiresAt` is reached at `now`; each one with something left is an
 * expiry (its remainder is gone: an `expiry` ledger row, `expiryRows`). Lua twin: `expire_grants`
 * in redis/lua/credits.ts.
 */
export function expireGrants(grants: readonly CreditGrant[], now: number): { grants: CreditGrant[]; expired: CreditGrant[] } {
  const kept: CreditGrant[] = []
  const expired: CreditGrant[] = []
  for (const grant of grants) {
    if (grant.expiresAt === undefined || grant.expiresAt > now) kept.push(grant)
    else if (grant.remaining > 0) expired.push(grant)
  }
  return { grants: kept, expired }
}

/**
 * The `expiry` rows of expired grants, each at its grant's `expiresAt` (when the remainder was
 * gone, not when a store noticed), earliest first, then by key. Lua twin: `expire_grants` in
 * redis/lua/credits.ts.
 */
export function expiryRows(expired: readonly CreditGrant[]): LedgerChange[] {
  return [...expired]
    .sort((a, b) => a.expiresAt! - b.expiresAt! || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((grant) => ({ at: grant.expiresAt!, kind: 'expiry', amount: -grant.remaining, grant: grant.key }))
}

/**
 * Gives `amount` back to the grants most recently drawn first (reverse spending order), each up to
 * what was drawn from it; what no unexpired grant can take back becomes a new grant with no expiry,
 * keyed `refund:<leaseId>` (added to it if the lease was refunded there before). Call after
 * `expireGrants`. Lua twin: `refund_credits` in redis/lua/credits.ts.
 */
export function refundCredits(grants: readonly CreditGrant[], amount: number, leaseId: string, now: number): { grants: CreditGrant[]; returned: GrantDraw[] } {
  let left = amount
  const returned: GrantDraw[] = []
  const ordered = inSpendOrder(grants)
  for (let index = ordered.length - 1; index >= 0 && left > 0; index -= 1) {
    const grant = ordered[index]!
    const give = Math.min(left, grant.amount - grant.remaining)
    if (give <= 0) continue
    left -= give
    returned.push({ grant: grant.key, amount: give })
    ordered[index] = { ...grant, remaining: grant.remaining + give }
  }
  if (left === 0) return { grants: ordered, returned }
  const key = refundGrantKey(leaseId)
  const before = ordered.find((grant) => grant.key === key)
  const refund: CreditGrant = before
    ? { ...before, amount: before.amount + left, remaining: before.remaining + left }
    : { key, amount: left, remaining: left, priority: defaultCreditPriority, grantedAt: now }
  returned.push({ grant: key, amount: left })
  return { grants: inSpendOrder([...ordered.filter((grant) => grant.key !== key), refund]), returned }
}

/** The key of the grant a refund makes when no unexpired grant can take it back. */
export function refundGrantKey(leaseId: string): string {
  return `refund:${leaseId}`
}

/**
 * What settling a lease changes on a balance, by its hold's fate (see `settleChange` for windows):
 * holding, or expired and returned (or unknown): draw the whole `amount`; expired and charged: the
 * expiry paid `held` less what it left `unpaidThen`, so draw the difference, or refund it when the
 * lease used less (credits never paid are never refunded). Lua twin: `settle_credits` in redis/lua/credits.ts.
 */
export function creditSettleChange(
  fate: 'holding' | 'charged' | 'released' | undefined,
  held: number,
  amount: number,
  unpaidThen = 0,
): { draw: number; refund: number } {
  if (fate !== 'charged') return { draw: amount, refund: 0 }
  const paid = held - unpaidThen
  return amount >= paid ? { draw: amount - paid, refund: 0 } : { draw: 0, refund: paid - amount }
}

/**
 * The `charge` row of a lease's draw, or `undefined` when it drew nothing and nothing is unpaid
 * (a lease that used no credits writes no row). Lua twin: `settle_credits` in redis/lua/credits.ts.
 */
export function chargeRow(
  draw: { readonly drawn: readonly GrantDraw[]; readonly unpaid: number },
  lease: { readonly leaseId: string; readonly record?: string },
  now: number,
): LedgerChange | undefined {
  const paid = draw.drawn.reduce((sum, each) => sum + each.amount, 0)
  if (paid === 0 && draw.unpaid === 0) return undefined
  return {
    at: now,
    kind: 'charge',
    amount: 0 - paid, // never -0: a row of nothing paid reads 0
    leaseId: lease.leaseId,
    ...(lease.record === undefined ? {} : { record: lease.record }),
    drawn: draw.drawn,
    ...(draw.unpaid > 0 ? { unpaid: draw.unpaid } : {}),
  }
}

/** The `refund` row of a lease that used less than its expiry charged. Lua twin: `settle_credits` in redis/lua/credits.ts. */
export function refundRow(amount: number, lease: { readonly leaseId: string; readonly record?: string }, now: number): LedgerChange {
  return { at: now, kind: 'refund', amount, leaseId: lease.leaseId, ...(lease.record === undefined ? {} : { record: lease.record }) }
}

/**
 * Numbers a row after the ledger's last one (`seq` from 1 without gaps, `balanceAfter` the running
 * sum). Lua twin: `append_row` in redis/lua/credits.ts.
 */
export function ledgerRow(last: Pick<LedgerEntry, 'seq' | 'balanceAfter'> | undefined, change: LedgerChange): LedgerEntry {
  const seq = (last?.seq ?? 0) + 1
  const balanceAfter = (last?.balanceAfter ?? 0) + change.amount
  return { seq, balanceAfter, ...change }
}

/**
 * What a credit write changes, without who did it or why: a key replayed with the same
 * fingerprint is a replay (nothing written), with another refused. Lua twin: the fingerprint the
 * engine sends to `write_credits` (computed here, passed as an argument).
 */
export function creditWriteFingerprint(write: Pick<CreditWrite, 'change'>): string {
  const { change } = write
  if (change.kind === 'correction') return JSON.stringify(['correction', change.amount])
  return JSON.stringify(['topup', change.amount, change.expiresAt ?? null, change.priority ?? defaultCreditPriority])
}

/**
 * Whether a write with `fingerprint` applies: `true` for a new key, `false` for a replay of the
 * same change; a key used for another change throws `IdempotencyKeyReused`. Keys are kept forever.
 * Lua twin: `write_credits` in redis/lua/credits.ts.
 */
export function creditWriteApplies(stored: string | undefined, fingerprint: string, key: string): boolean {
  if (stored === undefined) return true
  if (stored === fingerprint) return false
  throw new QuotaInputError({
    code: 'IdempotencyKeyReused',
    message: `credit key "${key}" was already used for a different change: nothing changed; use a new key for a new change`,
  })
}

function invalidWrite(message: string): QuotaInputError {
  return new QuotaInputError({ code: 'InvalidAdminRequest', message })
}

/** A credit and the balance it would take too far, in counter units. */
export interface CreditsTooLarge {
  readonly amount: number
  readonly balance: number
}

const tooLarge = new WeakMap<QuotaInputError, CreditsTooLarge>()

/**
 * A write that would take a balance past `Number.MAX_SAFE_INTEGER`, where sums lose whole units.
 * Its amounts are kept for `creditsTooLargeOf`: the engine says them again in the policy's unit.
 */
export function creditsTooLarge(amount: number, balance: number): QuotaInputError {
  const error = invalidWrite(
    `a credit of ${amount} would take the balance of ${balance} past ${Number.MAX_SAFE_INTEGER} counter units, where sums are no longer exact: nothing changed`,
  )
  tooLarge.set(error, { amount, balance })
  return error
}

/** The amounts of a `creditsTooLarge` refusal, when `error` is one. */
export function creditsTooLargeOf(error: unknown): CreditsTooLarge | undefined {
  return error instanceof QuotaInputError ? tooLarge.get(error) : undefined
}

/**
 * Checks a credit write as a store receives it: a key, a top-up's positive whole amount, whole
 * priority 0–100 and whole-ms `expiresAt`; a non-zero whole correction. Throws
 * `InvalidAdminRequest`, nothing written. Lua twin: none (stores check before they write).
 * That `expiresAt` is after `now` is checked only for a new key (`checkNewTopUpExpiry`).
 */
export function checkCreditWrite(write: CreditWrite): void {
  if (typeof write.key !== 'string' || write.key === '') throw invalidWrite('expected a non-empty credit key (e.g. the payment event id)')
  const { change } = write
  if (change.kind === 'correction') {
    if (!Number.isSafeInteger(change.amount) || change.amount === 0)
      throw invalidWrite(`expected a correction to be a non-zero integer in counter units, got ${change.amount}`)
    return
  }
  if (change.kind !== 'topup') throw invalidWrite(`expected a change of kind topup or correction, got ${String((change as { kind: unknown }).kind)}`)
  if (!Number.isSafeInteger(change.amount) || change.amount <= 0)
    throw invalidWrite(`expected a top-up to be a positive integer in counter units, got ${change.amount}`)
  const { priority, expiresAt } = change
  if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 100))
    throw invalidWrite(`expected \`priority\` to be an integer from 0 to 100, got ${priority}`)
  if (expiresAt !== undefined && !Number.isSafeInteger(expiresAt)) throw invalidWrite(`expected \`expiresAt\` to be a whole-millisecond time, got ${expiresAt}`)
}

/**
 * Refuses a new top-up whose `expiresAt` is not after `now`. Checked after the key: a top-up sent
 * again once its `expiresAt` passed (a webhook delivered late) is a replay, `applied: false`.
 * Lua twin: the `-5` reply of `write_credits` in redis/lua/credit-scripts.ts.
 */
export function checkNewTopUpExpiry(write: CreditWrite): void {
  const { change } = write
  if (change.kind === 'topup' && change.expiresAt !== undefined && change.expiresAt <= write.now)
    throw invalidWrite(`expected \`expiresAt\` to be a whole-millisecond time after now, got ${change.expiresAt}`)
}

/**
 * What a checked, new credit write does to the grants: a top-up or positive correction adds a
 * grant keyed by the write's key; a negative correction draws in spending order, and throws
 * `InsufficientCredits` (nothing written) when the balance cannot cover it. Call after
 * `expireGrants`. Lua twin: `write_credits` in redis/lua/credits.ts.
 */
export function applyCreditWrite(grants: readonly CreditGrant[], write: CreditWrite): { grants: CreditGrant[]; row: LedgerChange } {
  const { change, now, key } = write
  const who = { ...(write.by === undefined ? {} : { by: write.by }), ...(write.reason === undefined ? {} : { reason: write.reason }) }
  if (change.kind === 'correction' && change.amount < 0) {
    const balance = balanceOf(grants)
    if (balance < -change.amount) throw new InsufficientCreditsError({ requested: -change.amount, balance, unit: 'counter' })
    const { grants: next, drawn } = drawCredits(grants, -change.amount)
    return { grants: next, row: { at: now, kind: 'correction', amount: change.amount, drawn, ...who } }
  }
  const balance = balanceOf(grants)
  if (balance + change.amount > Number.MAX_SAFE_INTEGER) throw creditsTooLarge(change.amount, balance)
  const expiresAt = change.kind === 'topup' ? change.expiresAt : undefined
  const priority = (change.kind === 'topup' ? change.priority : undefined) ?? defaultCreditPriority
  const grant: CreditGrant = {
    key,
    amount: change.amount,
    remaining: change.amount,
    priority,
    grantedAt: now,
    ...(expiresAt === undefined ? {} : { expiresAt }),
  }
  return { grants: inSpendOrder([...grants, grant]), row: { at: now, kind: change.kind, amount: change.amount, grant: key, ...who } }
}
