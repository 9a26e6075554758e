import { bucketLeavesAt, type Tally } from './windows.js'

/**
 * The earliest instant a refused amount would fit on a rolling window, if nothing else changes:
 * after enough of its oldest buckets have left it; `resetAt` (its newest tokens leave) when no
 * earlier instant does. A fixed or flexi window's retry time is its end.
 * Lua twin: reserve.ts (the refusal's `retry`, kind `r`).
 */
export function rollingRetryAt(
  buckets: ReadonlyMap<number, Tally>,
  totals: Tally,
  request: { readonly amount: number; readonly limit: number },
  window: { readonly length: number; readonly bucket: number },
  now: number,
  resetAt: number,
): number {
  const { length, bucket } = window
  const horizon = now - length
  const starts = [...buckets.keys()].filter((start) => start + bucket > horizon).sort((a, b) => a - b)
  let remaining = totals.used + totals.reserved
  for (const start of starts) {
    const tally = buckets.get(start)!
    remaining -= tally.used + tally.reserved
    if (remaining + request.amount <= request.limit) return bucketLeavesAt(start, length, bucket)
  }
  return resetAt
}
