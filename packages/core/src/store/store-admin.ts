import { QuotaInputError } from '../shared/errors.js'
import type { CounterRef } from './counter-ref.js'
import type { MaybePromise } from '../shared/types.js'

/**
 * What an operator changed on a counter family's limit, for one identifier (`identifier`) or for
 * every identifier of the family (`identifier: ''`, e.g. a whole class: family `user-daily#premium`).
 */
export interface OverrideTarget {
  /** Counter family, as in `CounterRef.counter`. */
  readonly counter: string
  /** The identifier's key, or `''` for every identifier of the family. */
  readonly identifier: string
  /** The shard the family's counters live in (see `TokenQuotaOptions.shardKey`). */
  readonly shard?: string
}

/**
 * `allow` replaces the policy's limit; `grant` adds to it (LiteLLM's temporary budget increase).
 * Both are in counter units (units of 1e-8 dollar for a money policy).
 */
export type OverrideKind = 'allow' | 'grant'

export interface OverrideValue {
  readonly amount: number
  /** When it stops applying, in epoch ms. `undefined`: until removed. */
  readonly until?: number
}

/** What an operator's change does to one target's overrides (amounts in counter units). */
export type OverrideChange =
  /** Replaces the target's `allow` (the limit in force instead of the policy's). */
  | { readonly kind: 'allow'; readonly amount: number; readonly until?: number }
  /** Adds one grant to the target's: each grant keeps its own amount and end. */
  | { readonly kind: 'grant'; readonly amount: number; readonly until?: number }
  /** Removes the target's `allow` and every grant. */
  | { readonly kind: 'clear' }

/**
 * One operator action, applied with its audit entry in one atomic step, once per `key`: a step
 * whose key was applied in the last `idempotencyRetentionMs` (a retry, a command re-sent after a
 * lost reply) changes nothing and records nothing. The store keeps each key with the change's
 * fingerprint (`stepFingerprint`): the same key with another change is refused with
 * `IdempotencyKeyReused`, and changes nothing either.
 */
export interface AdminStep {
  readonly now: number
  /** The action's idempotency key. */
  readonly key: string
  readonly audit: AuditEntry
}

export interface OverrideWrite extends OverrideTarget, AdminStep {
  readonly change: OverrideChange
}

export interface ResetWrite extends AdminRead, AdminStep {}

/** A target's own overrides in force: its `allow`, and its grants in the order they were made. */
export interface TargetOverrides {
  readonly allow?: OverrideValue
  readonly grants: readonly OverrideValue[]
}

export interface AdminOutcome {
  /** `false` when the step's key had been applied already: nothing changed this time. */
  readonly applied: boolean
}

export interface OverrideOutcome extends AdminOutcome {
  /** The target's overrides in force afterwards. */
  readonly overrides: TargetOverrides
}

/**
 * The overrides in force on one counter: its identifier's own, and its family's. A shared counter
 * (identifier `''`) is its family: it has only its own.
 */
export interface CounterOverrides {
  readonly allow?: OverrideValue
  readonly grants?: readonly OverrideValue[]
  readonly familyAllow?: OverrideValue
  readonly familyGrants?: readonly OverrideValue[]
}

/** The last reservation a counter refused (kept a week). */
export interface LastRefusal {
  readonly at: number
  /** What the request needed on this counter. */
  readonly requested: number
  /** The limit in force then (after overrides). */
  readonly limit: number
  readonly used: number
  readonly reserved: number
}

/**
 * A counter's refusals in a run: `count` reservations refused since `since` (the first of them). A
 * refusal whose window started after `since` starts a new run, so the run counts the refusals of
 * the counter's current window (of a rolling window: those since the first one still in it).
 */
export interface RefusalRun {
  readonly since: number
  readonly count: number
}

export interface CounterAdminState {
  readonly overrides: CounterOverrides
  readonly lastRefusal?: LastRefusal
  /** Its refusals, as counted in the store (every process's). */
  readonly refusals?: RefusalRun
}

/** A refusal decided outside a reservation (a per-request cap), to record on its counters. */
export interface RefusalNote {
  readonly now: number
  readonly shard?: string
  readonly refusals: ReadonlyArray<{ readonly ref: CounterRef; readonly windowStart: number } & Omit<LastRefusal, 'at'>>
}

/** The refusals of a run that fall in the window that starts at `windowStart`. */
export function refusalsInWindow(run: RefusalRun | undefined, windowStart: number): number {
  return run !== undefined && run.since >= windowStart ? run.count : 0
}

/** The run a refusal at `at`, in the window that starts at `windowStart`, extends or starts. Lua twin: `note_refusal` (redis/lua/refusal.ts). */
export function nextRefusalRun(run: RefusalRun | undefined, at: number, windowStart: number): RefusalRun {
  return run !== undefined && run.since >= windowStart ? { since: run.since, count: run.count + 1 } : { since: at, count: 1 }
}

/** One operator action, as recorded for audit. */
export interface AuditEntry {
  readonly at: number
  /** Who did it, as the caller said (e.g. a CLI's `$USER`, a dashboard's admin). */
  readonly by: string
  /** `anchor`: a caller's billing-cycle anchor stored (`quota.admin.setAnchor`). */
  readonly action: 'allow' | 'grant' | 'clear' | 'reset' | 'anchor'
  readonly policy: string
  /** The identifier as the operator named it, or `null` for a whole class or policy. */
  readonly identifier: string | null
  readonly class?: string
  /** Amount in the policy's unit (tokens, or dollars), for `allow` and `grant`. */
  readonly amount?: number
  readonly until?: number
  readonly reason?: string
}

export interface AdminRead {
  readonly now: number
  readonly shard?: string
  readonly counters: readonly CounterRef[]
}

/** How long a counter's last refusal is kept, and how many audit entries. */
export const lastRefusalRetentionMs = 7 * 24 * 3_600_000
export const auditRetention = 1000

/** How long an admin step's idempotency key is remembered. */
export const idempotencyRetentionMs = 24 * 3_600_000
/** Most grants in force on one target: a runaway script cannot make every reservation read thousands. */
export const maxGrants = 100

/**
 * The operator side of a store: overrides every reservation applies atomically (so every process
 * sees them at once), usage resets, last refusals and the audit log. Each change is one atomic
 * step with its audit entry, applied once per idempotency key. The engine's `quota.admin` uses it;
 * every store of this package has one.
 */
export interface StoreAdmin {
  /** Sets or removes an override, or adds a grant, with its audit entry. */
  writeOverride(request: OverrideWrite): MaybePromise<OverrideOutcome>
  /** Per counter: overrides in force, its last refusal and its run of refusals. */
  readAdmin(request: AdminRead): MaybePromise<readonly CounterAdminState[]>
  /** Records refusals decided before the store (per-request caps) as the reserve records its own. */
  noteRefusals(request: RefusalNote): MaybePromise<void>
  /** Sets the counters' committed usage in their current window to zero (open reservations keep holding), with its audit entry. */
  resetUsage(request: ResetWrite): MaybePromise<AdminOutcome>
  /** The newest entries first. */
  readAudit(limit: number): MaybePromise<readonly AuditEntry[]>
}

function invalid(message: string): QuotaInputError {
  return new QuotaInputError({ code: 'InvalidAdminRequest', message })
}

/**
 * What an admin step changes, without who did it or why: the action, the target (shard, counter
 * family, identifier; every counter of a reset) and, for an override, its amount and end. A key
 * replayed with the same fingerprint is a replay; with another, it is refused.
 */
export function stepFingerprint(request: OverrideWrite | ResetWrite): string {
  if ('change' in request) {
    const { change } = request
    const value = change.kind === 'clear' ? [] : [change.amount, change.until ?? null]
    return JSON.stringify([change.kind, request.shard ?? null, request.counter, request.identifier, ...value])
  }
  return JSON.stringify(['reset', request.shard ?? null, ...request.counters.flatMap((ref) => [ref.counter, ref.identifier])])
}

/** The error for a key already applied, within its retention, with another change. */
export function idempotencyKeyReused(key: string, policy?: string): QuotaInputError {
  return new QuotaInputError({
    code: 'IdempotencyKeyReused',
    message: `idempotency key "${key}" was already used for a different change (within 24 hours): nothing changed; use a new key for a new change`,
    policy,
  })
}

/**
 * The one validation of an override's end: a date or an epoch-ms number, rounded up to a whole
 * millisecond (what every store keeps), and later than `now`.
 */
export function overrideEnd(until: unknown, now: number): number | undefined {
  if (until === undefined) return undefined
  const end = until instanceof Date ? until.getTime() : until
  if (typeof end !== 'number' || !Number.isFinite(end)) throw invalid(`expected \`until\` to be a date, got ${String(until)}`)
  const whole = Math.ceil(end)
  if (whole <= now) throw invalid(`\`until\` (${new Date(whole).toISOString()}) is already past`)
  if (!Number.isSafeInteger(whole)) throw invalid(`\`until\` is out of range: ${String(until)}`)
  return whole
}

/** Checks a change as a store receives it: whole, non-negative amounts and whole-millisecond ends. */
export function checkOverrideWrite(request: OverrideWrite): void {
  if (typeof request.key !== 'string' || request.key === '') throw invalid('expected a non-empty idempotency key')
  const { change } = request
  if (change.kind === 'clear') return
  if (!Number.isSafeInteger(change.amount) || change.amount < 0)
    throw invalid(`expected the ${change.kind} to be a non-negative integer in counter units, got ${change.amount}`)
  if (change.until !== undefined && overrideEnd(change.until, request.now) !== change.until)
    throw invalid(`expected \`until\` in whole milliseconds, got ${change.until}`)
}

export function tooManyGrants(): QuotaInputError {
  return invalid(`a counter can have at most ${maxGrants} grants in force; clear them or let some end first`)
}

/** An override value, without an `until` when it has no end. */
export function overrideValue(amount: number, until: number | undefined): OverrideValue {
  return until === undefined ? { amount } : { amount, until }
}
