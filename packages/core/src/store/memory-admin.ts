import { effectiveLimit, grantsInForce, inForce, overridesFor, overridesInForce, targetInForce } from './algebra/index.js'
import type { CounterRef, CounterSnapshot } from './quota-store.js'
import {
  type AdminRead,
  type AuditEntry,
  auditRetention,
  type CounterAdminState,
  type CounterOverrides,
  checkOverrideWrite,
  idempotencyKeyReused,
  idempotencyRetentionMs,
  type LastRefusal,
  lastRefusalRetentionMs,
  maxGrants,
  nextRefusalRun,
  type OverrideOutcome,
  overrideValue,
  type OverrideWrite,
  type RefusalNote,
  type RefusalRun,
  stepFingerprint,
  type TargetOverrides,
  tooManyGrants,
} from './store-admin.js'

const noOverrides: CounterOverrides = Object.freeze({})
/** Most last refusals kept: a flood of refused hostile identifiers drops the oldest. */
const maxRefusals = 100_000

function keyOf(counter: string, identifier: string): string {
  return `${counter}\u0000${identifier}`
}

/**
 * MemoryStore's operator state: overrides, last refusals, the audit log, the idempotency keys of
 * admin steps. Expired overrides, old refusals and old keys are dropped by `sweep`, so hostile
 * identifiers that are refused cannot grow it for good.
 */
export class MemoryAdminBook {
  /** `counter \0 identifier` → its overrides (identifier `''`: the whole family, or a shared counter). */
  readonly #overrides = new Map<string, TargetOverrides>()
  readonly #refusals = new Map<string, LastRefusal & { readonly run: RefusalRun }>()
  /** Idempotency keys of applied admin steps → when they were applied, and the change's fingerprint. */
  readonly #applied = new Map<string, { readonly at: number; readonly fingerprint: string }>()
  #audit: AuditEntry[] = []

  /** The limit a counter meets at `now`: the request's unless an override is in force. Lua twin: `limit_of` (redis/lua/reserve.ts). */
  limitOf(ref: Pick<CounterRef, 'counter' | 'identifier'>, limit: number | undefined, now: number): number | undefined {
    if (this.#overrides.size === 0 || limit === undefined) return limit
    return effectiveLimit(limit, this.overridesOf(ref), now)
  }

  overridesOf(ref: Pick<CounterRef, 'counter' | 'identifier'>): CounterOverrides {
    if (this.#overrides.size === 0) return noOverrides
    return overridesFor(ref.identifier, (identifier) => this.#overrides.get(keyOf(ref.counter, identifier))) ?? noOverrides
  }

  /**
   * Runs one admin step once per key: `apply` makes the change, then the audit entry is appended.
   * Returns whether it ran; throws `IdempotencyKeyReused` when the key was applied with another fingerprint.
   * Lua twin: `applied_as` and `done` (redis/lua/admin.ts).
   */
  step(key: string, fingerprint: string, now: number, entry: AuditEntry, apply: () => void): boolean {
    const applied = this.#applied.get(key)
    if (applied !== undefined && applied.at + idempotencyRetentionMs > now) {
      if (applied.fingerprint !== fingerprint) throw idempotencyKeyReused(key)
      return false
    }
    apply()
    this.#applied.set(key, { at: now, fingerprint })
    this.#audit.push(entry)
    if (this.#audit.length > 2 * auditRetention) this.#audit = this.#audit.slice(-auditRetention)
    return true
  }

  /** Sets or removes an allow, adds a grant, or clears a target, once per key. Lua twin: the `change` script (redis/lua/admin.ts). */
  write(request: OverrideWrite): OverrideOutcome {
    checkOverrideWrite(request)
    const key = keyOf(request.counter, request.identifier)
    const { change, now } = request
    const applied = this.step(request.key, stepFingerprint(request), now, request.audit, () => {
      const current = this.#overrides.get(key)
      const allow = inForce(current?.allow, now)
      const grants = grantsInForce(current?.grants, now)
      let next: TargetOverrides
      if (change.kind === 'clear') next = { grants: [] }
      else if (change.kind === 'allow') next = { allow: overrideValue(change.amount, change.until), grants }
      else {
        if (grants.length >= maxGrants) throw tooManyGrants()
        next = { allow, grants: [...grants, overrideValue(change.amount, change.until)] }
      }
      if (next.allow === undefined && next.grants.length === 0) this.#overrides.delete(key)
      else this.#overrides.set(key, next)
    })
    return { applied, overrides: this.#inForce(key, now) }
  }

  #inForce(key: string, now: number): TargetOverrides {
    return targetInForce(this.#overrides.get(key), now) ?? { grants: [] }
  }

  /** Records a counter's last refusal and extends its run. Lua twin: `note_refusal` (redis/lua/refusal.ts). */
  noteRefusal(ref: CounterRef, snapshot: Pick<CounterSnapshot, 'used' | 'reserved' | 'windowStart'>, requested: number, limit: number, at: number): void {
    const key = keyOf(ref.counter, ref.identifier)
    const run = nextRefusalRun(this.#refusals.get(key)?.run, at, snapshot.windowStart)
    this.#refusals.delete(key) // re-inserted last: the map stays in refusal order
    this.#refusals.set(key, { at, requested, limit, used: snapshot.used, reserved: snapshot.reserved, run })
    if (this.#refusals.size > maxRefusals) this.#refusals.delete(this.#refusals.keys().next().value!)
  }

  noteRefusals(note: RefusalNote): void {
    for (const { ref, requested, limit, ...snapshot } of note.refusals) this.noteRefusal(ref, snapshot, requested, limit, note.now)
  }

  /** Per counter: overrides in force, last refusal and run. Lua twin: the `inspect` script (redis/lua/admin.ts). */
  read(request: AdminRead): CounterAdminState[] {
    return request.counters.map((ref) => {
      const overrides = overridesInForce(this.overridesOf(ref), request.now)
      const refusal = this.#refusals.get(keyOf(ref.counter, ref.identifier))
      if (!refusal) return { overrides }
      const { run, ...lastRefusal } = refusal
      return { overrides, lastRefusal, refusals: run }
    })
  }

  /** The newest entries first. Lua twin: the `audit` script (redis/lua/admin.ts). */
  readAudit(limit: number): AuditEntry[] {
    return this.#audit.slice(-Math.min(limit, auditRetention)).reverse()
  }

  /** Drops overrides past their end and refusals older than their retention. */
  sweep(now: number): void {
    for (const [key, entry] of this.#overrides) {
      const live = targetInForce(entry, now)
      if (!live) this.#overrides.delete(key)
      else if (live.grants.length !== entry.grants.length) this.#overrides.set(key, live)
    }
    for (const [key, { at }] of this.#applied) if (at + idempotencyRetentionMs <= now) this.#applied.delete(key)
    for (const [key, refusal] of this.#refusals) if (refusal.at + lastRefusalRetentionMs <= now) this.#refusals.delete(key)
  }
}
