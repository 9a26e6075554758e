import type { WindowSpec } from '../quota-store.js'

/**
 * Window arithmetic: fixed, flexi and rolling windows as numbers, with no storage. Every store
 * keeps its counters its own way and asks these functions what they mean at `now`. The Lua
 * scripts (`store/redis/lua/common.ts`) are the one other implementation: each function names
 * its twin, and the reference-model property test holds the two together on every store.
 */

/** Tokens in one window or rolling bucket: committed (`used`) and held by open reservations (`reserved`). */
export interface Tally {
  used: number
  reserved: number
}

/**
 * A rolling window's running totals: the tallies of its buckets from `counted` on (the oldest bucket
 * still in the window as of the last `advanceRolling`), kept as they change so that a reservation
 * reads two numbers instead of summing every bucket.
 */
export interface RollingTotals extends Tally {
  counted: number
}

/** The start of the bucket `now` falls in. Lua twin: `view` in common.ts (kind `r`, `p`). */
export function bucketStart(now: number, bucket: number): number {
  return Math.floor(now / bucket) * bucket
}

/** The oldest bucket start still in a rolling window at `now`: older buckets have left it. Lua twin: `advance` (`first`). */
export function firstBucket(length: number, bucket: number, now: number): number {
  return Math.floor((now - length) / bucket) * bucket
}

/** Whether a rolling bucket is still in its window at `now` (a charge to a bucket that left counts for nothing). Lua twin: settle.ts (`live`, kind `r`). */
export function bucketInWindow(start: number, length: number, bucket: number, now: number): boolean {
  return start >= firstBucket(length, bucket, now)
}

/**
 * The bucket a rolling window's hold goes in at `now`: the one `now` falls in, or, for a clock
 * behind the one that moved the window, its oldest counted bucket (so the hold is in the totals
 * and leaves them when it is settled or expires). Lua twin: `view` in common.ts (kind `r`).
 */
export function rollingPlacement(now: number, bucket: number, counted: number): number {
  return Math.max(bucketStart(now, bucket), counted)
}

/** When the tokens of a rolling bucket leave its window. Lua twin: `rolling_reset` and reserve.ts (`start + bucket + length`). */
export function bucketLeavesAt(start: number, length: number, bucket: number): number {
  return start + bucket + length
}

/**
 * When a counter is back to zero after a reservation held a positive amount on it: a fixed or flexi
 * window's end, or when the bucket that now holds a rolling window's newest tokens leaves it.
 * Lua twin: reserve.ts (`v.reset` after a hold).
 */
export function resetAfterHold(window: WindowSpec, placement: number, resetAt: number): number {
  return window.kind === 'rolling' ? bucketLeavesAt(placement, window.length, window.bucket) : resetAt
}

/**
 * Moves a rolling window's totals to `now`: the buckets that left the window leave the totals, and
 * are deleted unless they still hold a reservation. Lua twin: `advance` in common.ts.
 */
export function advanceRolling(totals: RollingTotals, buckets: Map<number, Tally>, length: number, bucket: number, now: number): void {
  const first = firstBucket(length, bucket, now)
  if (first <= totals.counted) return
  for (const [start, tally] of buckets) {
    if (start >= first) continue
    if (start >= totals.counted) {
      totals.used -= tally.used
      totals.reserved -= tally.reserved
    }
    if (tally.reserved === 0) buckets.delete(start)
  }
  totals.counted = first
}

/**
 * When a rolling window is back to zero if nothing else is charged: when its newest tokens leave
 * it (`now` when it has none). Walks every bucket: for refusals and reads, never to admit.
 * Lua twin: `rolling_reset` (with `rolling_buckets`) in common.ts.
 */
export function rollingResetAt(buckets: ReadonlyMap<number, Tally>, length: number, bucket: number, now: number): number {
  const first = firstBucket(length, bucket, now)
  let newest = -Infinity
  for (const [start, tally] of buckets) if (start >= first && tally.used + tally.reserved > 0 && start > newest) newest = start
  return newest === -Infinity ? now : bucketLeavesAt(newest, length, bucket)
}

/**
 * Adds to a rolling bucket's tally, and to the window's totals while the bucket is counted.
 * Lua twin: the kind `r` branches of `expire_holds` (common.ts) and of settle.ts.
 */
export function addToBucket(totals: RollingTotals, start: number, tally: Tally, used: number, reserved: number): void {
  tally.used += used
  tally.reserved += reserved
  if (start < totals.counted) return
  totals.used += used
  totals.reserved += reserved
}

/** Whether a stored flexi window (or a fixed one) is still open at `now`. Lua twin: `view` in common.ts (kind `x`). */
export function windowOpen(end: number, now: number): boolean {
  return end > now
}

/** Whether a window's state may be dropped: it is over and holds nothing (a hold keeps it until returned or charged). */
export function evictable(end: number, tally: Tally, now: number): boolean {
  return !windowOpen(end, now) && tally.reserved === 0
}
