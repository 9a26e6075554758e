// Rollover: part of a billing cycle's unused allowance becomes expiring credits on a balance policy.
import { fail, isPlainObject, namePattern } from './config-check.js'

/** A policy's `rollover`, checked. */
export interface RolloverConfig {
  /** The balance policy the credits go to. */
  readonly into: string
  /** At most this fraction of the cycle's unused allowance, in (0, 1]. */
  readonly share: number
  /** The credits expire at the end of the `expiresAfterCycles`-th cycle from the one they are granted in (1: at the end of that one). */
  readonly expiresAfterCycles: number
}

const maxCycles = 1200

/** Checks `rollover` on one policy (`into` is checked against the others by {@link checkRolloverTargets}). */
export function normalizeRollover(name: string, value: unknown, anchored: boolean): RolloverConfig | undefined {
  if (value === undefined) return undefined
  if (!isPlainObject(value)) fail('InvalidConfiguration', name, 'rollover', '`{ into, share, expiresAfterCycles }`', value)
  for (const key of Object.keys(value))
    if (!['into', 'share', 'expiresAfterCycles'].includes(key))
      fail('InvalidConfiguration', name, `rollover.${key}`, 'absent (known: into, share, expiresAfterCycles)', value[key])
  // Without an anchor nothing says the caller was a customer for the whole last cycle: its unused allowance is not theirs.
  if (!anchored) fail('InvalidConfiguration', name, 'rollover', 'set only on a policy with an `anchor` (billing cycles)', value)
  const { into, share, expiresAfterCycles } = value
  if (typeof into !== 'string' || !namePattern.test(into)) fail('InvalidConfiguration', name, 'rollover.into', 'the name of a balance policy', into)
  if (typeof share !== 'number' || !(share > 0 && share <= 1)) fail('InvalidConfiguration', name, 'rollover.share', 'a fraction in (0, 1]', share)
  if (typeof expiresAfterCycles !== 'number' || !Number.isInteger(expiresAfterCycles) || expiresAfterCycles < 1 || expiresAfterCycles > maxCycles)
    fail('InvalidConfiguration', name, 'rollover.expiresAfterCycles', `a positive integer up to ${maxCycles}`, expiresAfterCycles)
  return { into, share, expiresAfterCycles }
}
