import type { CounterRef, CounterSnapshot } from './quota-store.js'
import {
  type AdminRead,
  type AuditEntry,
  auditRetention,
  type CounterAdminState,
  type CounterOverrides,
  effectiveLimit,
  inForce,
  type LastRefusal,
  lastRefusalRetentionMs,
  mergedGrant,
  type OverrideValue,
  type OverrideWrite,
} from './store-admin.js'

const noOverrides: CounterOverrides = Object.freeze({})
/** Most last refusals kept: a flood of refused hostile identifiers drops the oldest. */
const maxRefusals = 100_000

function keyOf(counter: string, identifier: string): string {
  return `${counter}\u0000${identifier}`
}

/**
 * MemoryStore's operator state: overrides, last refusals, the audit log. Expired overrides and old
 * refusals are dropped by `sweep`, so hostile identifiers that are refused cannot grow it for good.
 */
export class MemoryAdminBook {
  /** `counter \0 identifier` → its overrides (identifier `''`: the whole family). */
  readonly #overrides = new Map<string, { allow?: OverrideValue; grant?: OverrideValue }>()
  readonly #refusals = new Map<string, LastRefusal>()
  #audit: AuditEntry[] = []

  /** The limit a counter meets at `now`: the request's unless an override is in force. */
  limitOf(ref: CounterRef, limit: number | undefined, now: number): number | undefined {
    if (this.#overrides.size === 0 || limit === undefined) return limit
    return effectiveLimit(limit, this.overridesOf(ref), now)
  }

  overridesOf(ref: CounterRef): CounterOverrides {
    if (this.#overrides.size === 0) return noOverrides
    const own = this.#overrides.get(keyOf(ref.counter, ref.identifier))
    const family = this.#overrides.get(keyOf(ref.counter, ''))
    if (!own && !family) return noOverrides
    return { allow: own?.allow, grant: own?.grant, familyAllow: family?.allow, familyGrant: family?.grant }
  }

  write(request: OverrideWrite): OverrideValue | undefined {
    const key = keyOf(request.counter, request.identifier)
    const entry = { ...this.#overrides.get(key) }
    const { kind, amount, until, now } = request
    if (amount === null) delete entry[kind]
    else entry[kind] = kind === 'grant' ? mergedGrant(entry.grant, amount, until, now) : until === undefined ? { amount } : { amount, until }
    if (entry.allow === undefined && entry.grant === undefined) this.#overrides.delete(key)
    else this.#overrides.set(key, entry)
    return entry[kind]
  }

  noteRefusal(ref: CounterRef, snapshot: CounterSnapshot, requested: number, limit: number, at: number): void {
    const key = keyOf(ref.counter, ref.identifier)
    this.#refusals.delete(key) // re-inserted last: the map stays in refusal order
    this.#refusals.set(key, { at, requested, limit, used: snapshot.used, reserved: snapshot.reserved })
    if (this.#refusals.size > maxRefusals) this.#refusals.delete(this.#refusals.keys().next().value!)
  }

  read(request: AdminRead): CounterAdminState[] {
    return request.counters.map((ref) => {
      const stored = this.overridesOf(ref)
      const overrides = {
        allow: inForce(stored.allow, request.now),
        grant: inForce(stored.grant, request.now),
        familyAllow: inForce(stored.familyAllow, request.now),
        familyGrant: inForce(stored.familyGrant, request.now),
      }
      const lastRefusal = this.#refusals.get(keyOf(ref.counter, ref.identifier))
      return lastRefusal ? { overrides, lastRefusal } : { overrides }
    })
  }

  appendAudit(entry: AuditEntry): void {
    this.#audit.push(entry)
    if (this.#audit.length > 2 * auditRetention) this.#audit = this.#audit.slice(-auditRetention)
  }

  readAudit(limit: number): AuditEntry[] {
    return this.#audit.slice(-Math.min(limit, auditRetention)).reverse()
  }

  /** Drops overrides past their end and refusals older than their retention. */
  sweep(now: number): void {
    for (const [key, entry] of this.#overrides) {
      if (!inForce(entry.allow, now) && !inForce(entry.grant, now)) this.#overrides.delete(key)
    }
    for (const [key, refusal] of this.#refusals) if (refusal.at + lastRefusalRetentionMs <= now) this.#refusals.delete(key)
  }
}
