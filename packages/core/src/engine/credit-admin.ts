import { resolveTarget } from '../policy/identifier.js'
import { inPolicyUnit, type NormalizedPolicy, type PolicyUnit } from '../policy/normalized-policy.js'
import { QuotaInputError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import type { BalanceRef, BalanceState, CreditGrant, CreditWrite, LedgerEntry, StoreCredits } from '../store/credit-protocol.js'
import type { QuotaStore } from '../store/quota-store.js'
import { creditRefusalFor } from './credit-refusals.js'
import type { CreditWatch } from './credit-watch.js'
import type { QuotaEvents } from './events.js'
import type { EngineSettings } from './settings.js'

/** Whose balance an operator (or a payment webhook) works on. */
export interface CreditTarget {
  /** The balance policy (`type: 'balance'`), by name. */
  readonly policy: string
  /** The caller, as for `reserve` (e.g. `{ user: 'alice' }`). Omit it for a balance without identifier. */
  readonly context?: QuotaContext
}

/** Who credited and why, as the caller says: kept in the ledger row. */
interface CreditActor {
  readonly by?: string
  readonly reason?: string
}

/** A top-up: credits a balance once per `key`, forever. */
export interface TopUp extends CreditTarget, CreditActor {
  /** In the policy's unit: whole tokens (or requests), or dollars. Positive. */
  readonly amount: number
  /**
   * The top-up's idempotency key, e.g. the payment's event id: the same key sent again, from any
   * process, at any time, credits nothing more (`applied: false`); the same key with another
   * amount, expiry or priority is refused (`QuotaInputError` code `IdempotencyKeyReused`).
   */
  readonly key: string
  /** When what is left of these credits is gone. @default never */
  readonly expiresAt?: Date | number
  /** 0–100, lower spent first (then what expires first). @default 50 */
  readonly priority?: number
}

/** An operator's correction: positive adds credits (no expiry), negative takes them in spending order. */
export interface CreditCorrection extends CreditTarget, CreditActor {
  /**
   * In the policy's unit, non-zero. A negative correction larger than the balance is refused with
   * `InsufficientCreditsError` (code `InsufficientCredits`), its `requested` and `balance` in the policy's unit.
   */
  readonly amount: number
  /** Idempotency key, as a top-up's. */
  readonly key: string
}

/** A credit grant, in the policy's unit. */
export interface CreditGrantView {
  readonly key: string
  readonly amount: number
  readonly remaining: number
  readonly priority: number
  readonly expiresAt?: number
  readonly grantedAt: number
}

/** A balance as an operator sees it, in the policy's unit. */
export interface CreditBalance {
  /** Σ remaining of the unexpired grants: what the ledger sums to. */
  readonly balance: number
  /** Held by reservations in flight. */
  readonly reserved: number
  /** What a new reservation can hold: `balance - reserved`, never negative. */
  readonly available: number
  /** Unexpired grants with something left, in spending order. */
  readonly grants: readonly CreditGrantView[]
  readonly unit: PolicyUnit
}

/** One row of a balance's ledger, in the policy's unit (see `LedgerEntry` for its fields). */
export type CreditLedgerRow = LedgerEntry

export interface CreditWriteResult {
  /** `false` when the key had been applied before: nothing changed this time. */
  readonly applied: boolean
  readonly balance: CreditBalance
}

/** The credit side of `quota.admin`: prepaid balances of `type: 'balance'` policies. */
export interface CreditAdmin {
  /** Credits a balance once per key (a payment's event id), forever; emits `creditsToppedUp`. */
  topUp(request: TopUp): Promise<CreditWriteResult>
  /** Adds or takes credits (an operator's correction), once per key. */
  correctCredits(request: CreditCorrection): Promise<CreditWriteResult>
  /** A caller's balance now. */
  credits(target: CreditTarget): Promise<CreditBalance>
  /** A balance's ledger, oldest first: rows after `after` (a `seq`), at most `limit`. @default limit 100 */
  ledger(request: CreditTarget & { readonly after?: number; readonly limit?: number }): Promise<readonly CreditLedgerRow[]>
}

function invalid(message: string, policy?: string): QuotaInputError {
  return new QuotaInputError({ code: 'InvalidAdminRequest', message, policy })
}

interface CreditDeps {
  readonly settings: EngineSettings
  readonly store: QuotaStore
  readonly events: QuotaEvents
  readonly watch: CreditWatch
}

interface ResolvedBalance {
  readonly policy: NormalizedPolicy
  readonly ref: BalanceRef
  readonly identifier: string | null
}

function creditsOf(store: QuotaStore): StoreCredits {
  if (!store.credits) throw invalid('this store holds no credit balances')
  return store.credits
}

async function resolveBalance(settings: EngineSettings, target: CreditTarget, at: number): Promise<ResolvedBalance> {
  const policy = settings.policies.find((candidate) => candidate.name === target.policy)
  if (policy?.type !== 'balance') {
    const balances = settings.policies.filter((candidate) => candidate.type === 'balance').map((candidate) => candidate.name)
    throw invalid(`no balance policy is named "${String(target.policy)}" (balance policies: ${balances.join(', ') || 'none'})`)
  }
  const resolved = await resolveTarget(policy, target.context ?? {}, at)
  const shard = settings.shardOf(target.context ?? {})
  const ref = { counter: resolved.counter, identifier: resolved.identifierKey, ...(shard === undefined ? {} : { shard }) }
  return { policy, ref, identifier: resolved.identifier }
}

/** A value for a message: text quoted, so `'5'` does not read as the number 5. */
function shown(value: unknown): string {
  return typeof value === 'string' ? `${JSON.stringify(value)} (a string)` : String(value)
}

/** An amount in counter units: whole tokens (never rounded), or dollars scaled to units of 1e-8. */
function inCounterUnits(amount: unknown, policy: NormalizedPolicy, field: string): number {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) throw invalid(`expected \`${field}\` to be a number, got ${shown(amount)}`, policy.name)
  if (policy.scale === 1 && !Number.isInteger(amount))
    throw invalid(`expected \`${field}\` to be a whole number of ${policy.unit} (the policy counts ${policy.unit}), got ${amount}`, policy.name)
  const exact = amount * policy.scale
  const scaled = Math.round(exact)
  if (!Number.isSafeInteger(scaled)) throw invalid(`\`${field}\` of ${amount} is too large`, policy.name)
  // Decimal dollars are not exact in binary (19.99 × 1e8 is 1998999999.9999998): only a remainder
  // above that error is precision the counter cannot hold, refused rather than rounded away.
  if (Math.abs(exact - scaled) > 1e-6 + Math.abs(exact) * 4 * Number.EPSILON)
    throw invalid(`expected \`${field}\` in steps of ${(1 / policy.scale).toFixed(8)} ${policy.unit} (what the counter holds), got ${amount}`, policy.name)
  return scaled
}

/** A top-up adds: zero or less is refused here, in the unit typed (the store would name counter units). */
function positive(units: number, amount: unknown, policy: NormalizedPolicy): number {
  if (units <= 0) throw invalid(`expected a top-up's \`amount\` to be positive, got ${String(amount)} ${policy.unit}`, policy.name)
  return units
}

/** A correction adds or takes: zero is refused here, in the unit typed (the store would name counter units). */
function nonZero(units: number, amount: unknown, policy: NormalizedPolicy): number {
  if (units === 0) throw invalid(`expected a correction's \`amount\` to be non-zero, got ${String(amount)} ${policy.unit}`, policy.name)
  return units
}

function expiryOf(expiresAt: Date | number | undefined, policy: NormalizedPolicy): number | undefined {
  if (expiresAt === undefined) return undefined
  const time = expiresAt instanceof Date ? expiresAt.getTime() : expiresAt
  if (typeof time !== 'number' || !Number.isFinite(time)) throw invalid(`expected \`expiresAt\` to be a date, got ${String(expiresAt)}`, policy.name)
  return Math.ceil(time)
}

function grantView(policy: NormalizedPolicy, grant: CreditGrant): CreditGrantView {
  return { ...grant, amount: inPolicyUnit(policy, grant.amount), remaining: inPolicyUnit(policy, grant.remaining) }
}

function balanceView(policy: NormalizedPolicy, state: BalanceState): CreditBalance {
  return {
    balance: inPolicyUnit(policy, state.balance),
    reserved: inPolicyUnit(policy, state.reserved),
    available: inPolicyUnit(policy, Math.max(0, state.balance - state.reserved)),
    grants: state.grants.map((grant) => grantView(policy, grant)),
    unit: policy.unit,
  }
}

function rowView(policy: NormalizedPolicy, row: LedgerEntry): CreditLedgerRow {
  if (policy.scale === 1) return row
  return {
    ...row,
    amount: inPolicyUnit(policy, row.amount),
    balanceAfter: inPolicyUnit(policy, row.balanceAfter),
    ...(row.drawn ? { drawn: row.drawn.map((each) => ({ grant: each.grant, amount: inPolicyUnit(policy, each.amount) })) } : {}),
    ...(row.unpaid === undefined ? {} : { unpaid: inPolicyUnit(policy, row.unpaid) }),
  }
}

/** A store's refusal names the policy, and its amounts in the policy's unit. */
async function inPolicyTerms<T>(policy: NormalizedPolicy, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw creditRefusalFor(policy, error)
  }
}

async function write(
  deps: CreditDeps,
  target: CreditTarget & CreditActor,
  key: unknown,
  change: (policy: NormalizedPolicy, now: number) => CreditWrite['change'],
) {
  const now = deps.settings.now()
  const resolved = await resolveBalance(deps.settings, target, now)
  const { policy } = resolved
  if (typeof key !== 'string' || key === '')
    throw invalid(`expected \`key\` to be a non-empty string (e.g. the payment's event id), got ${String(key)}`, policy.name)
  const request: CreditWrite = {
    ...resolved.ref,
    now,
    key,
    change: change(policy, now),
    ...(target.by === undefined ? {} : { by: target.by }),
    ...(target.reason === undefined ? {} : { reason: target.reason }),
  }
  const outcome = await inPolicyTerms(policy, () => creditsOf(deps.store).writeCredits(request))
  if (outcome.balance.expired) deps.watch.noticeExpired(policy, resolved.identifier, outcome.balance.expired)
  return { resolved, applied: outcome.applied, balance: balanceView(policy, outcome.balance) }
}

/** `quota.admin`'s credit methods, for a quota whose store holds credits. */
export function createCreditAdmin(deps: CreditDeps): CreditAdmin {
  return {
    async topUp(request) {
      const result = await write(deps, request, request.key, (policy) => ({
        kind: 'topup',
        amount: positive(inCounterUnits(request.amount, policy, 'amount'), request.amount, policy),
        ...(request.expiresAt === undefined ? {} : { expiresAt: expiryOf(request.expiresAt, policy) }),
        ...(request.priority === undefined ? {} : { priority: request.priority }),
      }))
      const { policy, identifier } = result.resolved
      deps.events.emit('creditsToppedUp', { policy: policy.name, identifier, key: request.key, amount: request.amount, applied: result.applied })
      return { applied: result.applied, balance: result.balance }
    },
    async correctCredits(request) {
      const result = await write(deps, request, request.key, (policy) => ({
        kind: 'correction',
        amount: nonZero(inCounterUnits(request.amount, policy, 'amount'), request.amount, policy),
      }))
      return { applied: result.applied, balance: result.balance }
    },
    async credits(target) {
      const now = deps.settings.now()
      const { policy, ref, identifier } = await resolveBalance(deps.settings, target, now)
      const [state] = await creditsOf(deps.store).readBalances({ now, shard: ref.shard, balances: [ref] })
      if (state!.expired) deps.watch.noticeExpired(policy, identifier, state!.expired)
      return balanceView(policy, state!)
    },
    async ledger(request) {
      const { policy, ref } = await resolveBalance(deps.settings, request, deps.settings.now())
      const limit = request.limit ?? 100
      const after = request.after ?? 0
      if (!Number.isSafeInteger(limit) || limit < 1) throw invalid(`expected \`limit\` to be a positive integer, got ${String(limit)}`, policy.name)
      if (!Number.isSafeInteger(after) || after < 0)
        throw invalid(`expected \`after\` to be a non-negative integer (a ledger seq), got ${String(after)}`, policy.name)
      const rows = await creditsOf(deps.store).readLedger({ ...ref, after, limit })
      return rows.map((row) => rowView(policy, row))
    },
  }
}
