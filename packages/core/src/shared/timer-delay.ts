import { QuotaConfigError } from './errors.js'

/**
 * A delay option in ms, checked: setTimeout and setInterval fire at once for NaN, a negative or
 * more than 2^31-1 ms (a store timing out every call, or syncing every millisecond).
 */
export function timerDelayOf(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value === 'number' && value >= 1 && value <= 2 ** 31 - 1) return value
  throw new QuotaConfigError({
    code: 'InvalidConfiguration',
    field,
    message: `Expected \`${field}\` to be a number of ms from 1 to 2147483647, got \`${String(value)}\` (${typeof value})`,
  })
}
