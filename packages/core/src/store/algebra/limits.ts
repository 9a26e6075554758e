import {
  type CounterOverrides,
  maxGrants,
  type OverrideChange,
  type OverrideValue,
  overrideValue,
  type TargetOverrides,
  tooManyGrants,
} from '../store-admin.js'

/**
 * The limit in force: a policy's limit with the operators' overrides and grants merged, and the
 * check a reservation must pass. Lua twins: `override_amount`, `grants_in_force` and
 * `limit_in_force` in common.ts, and the check in reserve.ts.
 */

/** Whether `amount` more fits on a counter under `limit` (`undefined`: no limit, count only). Lua twin: reserve.ts (`v.used + v.reserved + amount > limit`). */
export function fits(used: number, reserved: number, amount: number, limit: number | undefined): boolean {
  return limit === undefined || used + reserved + amount <= limit
}

/** An override that still applies at `now`. Lua twin: `override_amount` in common.ts. */
export function inForce(value: OverrideValue | undefined, now: number): OverrideValue | undefined {
  return value !== undefined && (value.until === undefined || value.until > now) ? value : undefined
}

/** The grants still in force at `now`, in order. Lua twin: `grants_in_force` in common.ts. */
export function grantsInForce(grants: readonly OverrideValue[] | undefined, now: number): OverrideValue[] {
  return grants ? grants.filter((grant) => inForce(grant, now)) : []
}

/** A target's overrides still in force at `now`, or `undefined` when none is. Lua twin: the clean-up loop of the `change` script (admin.ts). */
export function targetInForce(target: TargetOverrides | undefined, now: number): TargetOverrides | undefined {
  const allow = inForce(target?.allow, now)
  const grants = grantsInForce(target?.grants, now)
  if (allow === undefined && grants.length === 0) return undefined
  return allow ? { allow, grants } : { grants }
}

function granted(grants: readonly OverrideValue[] | undefined, now: number): number {
  let total = 0
  for (const grant of grants ?? []) if (inForce(grant, now)) total += grant.amount
  return total
}

/**
 * The limit a reservation meets: the identifier's `allow`, else its family's, else the policy's;
 * plus every grant in force. A counter without a limit (count-only) stays without one.
 * Lua twin: `limit_in_force` in common.ts.
 */
export function effectiveLimit(limit: number | undefined, overrides: CounterOverrides, now: number): number | undefined {
  if (limit === undefined) return undefined
  const base = inForce(overrides.allow, now)?.amount ?? inForce(overrides.familyAllow, now)?.amount ?? limit
  return base + granted(overrides.grants, now) + granted(overrides.familyGrants, now)
}

/** The overrides of a counter from its own and its family's; a shared counter (identifier `''`) is its family, counted once. Lua twin: `limit_in_force` (`identifier == ''`). */
export function counterOverrides(identifier: string, own: TargetOverrides | undefined, family: TargetOverrides | undefined): CounterOverrides {
  if (identifier === '') return { allow: own?.allow, grants: own?.grants }
  return { allow: own?.allow, grants: own?.grants, familyAllow: family?.allow, familyGrants: family?.grants }
}

/**
 * A counter's overrides, looked up by target (`identifier`, and `''` for its family) wherever a
 * store keeps them; `undefined` when it has none.
 */
export function overridesFor(identifier: string, targetOf: (identifier: string) => TargetOverrides | undefined): CounterOverrides | undefined {
  const own = targetOf(identifier)
  const family = identifier === '' ? undefined : targetOf('')
  return own || family ? counterOverrides(identifier, own, family) : undefined
}

/** The overrides of a counter that are in force at `now`, each one filtered (what an admin read shows). Lua twin: the `inspect` script (admin.ts). */
export function overridesInForce(stored: CounterOverrides, now: number): CounterOverrides {
  return {
    allow: inForce(stored.allow, now),
    grants: grantsInForce(stored.grants, now),
    familyAllow: inForce(stored.familyAllow, now),
    familyGrants: grantsInForce(stored.familyGrants, now),
  }
}

/**
 * A target's overrides after an operator's change (those past their end dropped): `clear` removes
 * all, `allow` replaces the allow, `grant` adds one grant. `undefined`: none left. Throws when a
 * grant would exceed `maxGrants`. MemoryStore's `MemoryAdminBook.write` computes the same inline;
 * Lua twin: the `change` script (admin.ts).
 */
export function overridesAfter(current: TargetOverrides | undefined, change: OverrideChange, now: number): TargetOverrides | undefined {
  if (change.kind === 'clear') return undefined
  const allow = inForce(current?.allow, now)
  const grants = grantsInForce(current?.grants, now)
  if (change.kind === 'allow') return { allow: overrideValue(change.amount, change.until), grants }
  if (grants.length >= maxGrants) throw tooManyGrants()
  const next = [...grants, overrideValue(change.amount, change.until)]
  return allow ? { allow, grants: next } : { grants: next }
}
