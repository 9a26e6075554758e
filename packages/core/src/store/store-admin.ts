import type { CounterRef, MaybePromise } from './quota-store.js'

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
 * Both are in counter units (micro-dollars for a money policy).
 */
export type OverrideKind = 'allow' | 'grant'

export interface OverrideValue {
  readonly amount: number
  /** When it stops applying, in epoch ms. `undefined`: until removed. */
  readonly until?: number
}

export interface OverrideWrite extends OverrideTarget {
  readonly now: number
  readonly kind: OverrideKind
  /**
   * `allow`: the new limit. `grant`: tokens added to the grant in force (which then lasts until the
   * later of the two ends). `null` removes the override.
   */
  readonly amount: number | null
  readonly until?: number
}

/** The overrides in force on one counter: its identifier's own, and its family's. */
export interface CounterOverrides {
  readonly allow?: OverrideValue
  readonly grant?: OverrideValue
  readonly familyAllow?: OverrideValue
  readonly familyGrant?: OverrideValue
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

export interface CounterAdminState {
  readonly overrides: CounterOverrides
  readonly lastRefusal?: LastRefusal
}

/** One operator action, as recorded for audit. */
export interface AuditEntry {
  readonly at: number
  /** Who did it, as the caller said (e.g. a CLI's `$USER`, a dashboard's admin). */
  readonly by: string
  readonly action: 'allow' | 'grant' | 'clear' | 'reset'
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

/**
 * The operator side of a store: overrides every reservation applies atomically (so every process
 * sees them at once), usage resets, last refusals and the audit log. The engine's `quota.admin`
 * uses it; every store of this package has one.
 */
export interface StoreAdmin {
  /** Sets, adds to (`grant`) or removes an override; resolves with what is in force afterwards. */
  writeOverride(request: OverrideWrite): MaybePromise<OverrideValue | undefined>
  /** Per counter: overrides in force and its last refusal. */
  readAdmin(request: AdminRead): MaybePromise<readonly CounterAdminState[]>
  /** Sets the counters' committed usage in their current window to zero (open reservations keep holding). */
  resetUsage(request: AdminRead): MaybePromise<void>
  appendAudit(entry: AuditEntry): MaybePromise<void>
  /** The newest entries first. */
  readAudit(limit: number): MaybePromise<readonly AuditEntry[]>
}

/** An override that still applies at `now`. */
export function inForce(value: OverrideValue | undefined, now: number): OverrideValue | undefined {
  return value !== undefined && (value.until === undefined || value.until > now) ? value : undefined
}

/**
 * The limit a reservation meets: the identifier's `allow`, else its family's, else the policy's;
 * plus every grant in force. A counter without a limit (count-only) stays without one.
 */
export function effectiveLimit(limit: number | undefined, overrides: CounterOverrides, now: number): number | undefined {
  if (limit === undefined) return undefined
  const base = inForce(overrides.allow, now)?.amount ?? inForce(overrides.familyAllow, now)?.amount ?? limit
  return base + (inForce(overrides.grant, now)?.amount ?? 0) + (inForce(overrides.familyGrant, now)?.amount ?? 0)
}

/** A grant added to the one in force: amounts add up, and it lasts until the later end. */
export function mergedGrant(current: OverrideValue | undefined, amount: number, until: number | undefined, now: number): OverrideValue {
  const live = inForce(current, now)
  if (!live) return until === undefined ? { amount } : { amount, until }
  const end = live.until === undefined || until === undefined ? undefined : Math.max(live.until, until)
  return end === undefined ? { amount: live.amount + amount } : { amount: live.amount + amount, until: end }
}
