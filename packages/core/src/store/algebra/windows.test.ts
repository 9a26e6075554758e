import { describe, expect, it } from 'vitest'
import {
  addToBucket,
  advanceRolling,
  bucketInWindow,
  bucketLeavesAt,
  bucketStart,
  evictable,
  firstBucket,
  type RollingTotals,
  resetAfterHold,
  rollingPlacement,
  rollingResetAt,
  type Tally,
  windowOpen,
} from './windows.js'

const minute = 60_000
const second = 1000
const t0 = Date.UTC(2026, 0, 1)

/** A minute-long rolling window in one-second buckets, with tallies at the given seconds after t0. */
function rollingWindow(at: Record<number, Tally>, now: number): { totals: RollingTotals; buckets: Map<number, Tally> } {
  const buckets = new Map(Object.entries(at).map(([offset, tally]) => [t0 + Number(offset) * second, { ...tally }]))
  const totals: RollingTotals = { used: 0, reserved: 0, counted: firstBucket(minute, second, now) }
  for (const [start, tally] of buckets) {
    if (start < totals.counted) continue
    totals.used += tally.used
    totals.reserved += tally.reserved
  }
  return { totals, buckets }
}

describe('window arithmetic', () => {
  it('places a time in its bucket, and names the oldest bucket still in a rolling window', () => {
    expect(bucketStart(t0 + 1999, second)).toBe(t0 + second)
    expect(firstBucket(minute, second, t0 + minute + 1500)).toBe(t0 + second)
    expect(bucketInWindow(t0, minute, second, t0 + minute + 999)).toBe(true)
    expect(bucketInWindow(t0, minute, second, t0 + minute + 1000)).toBe(false)
  })

  it('holds in the oldest counted bucket when the clock is behind the one that moved the window', () => {
    expect(rollingPlacement(t0 + 5500, second, t0)).toBe(t0 + 5000)
    expect(rollingPlacement(t0 + 5500, second, t0 + 7000)).toBe(t0 + 7000)
  })

  it('advances a rolling window: buckets that left leave the totals, and go unless they still hold', () => {
    const { totals, buckets } = rollingWindow({ 0: { used: 10, reserved: 0 }, 1: { used: 5, reserved: 3 }, 30: { used: 7, reserved: 0 } }, t0)
    expect(totals).toEqual({ used: 22, reserved: 3, counted: t0 - minute })
    advanceRolling(totals, buckets, minute, second, t0 + minute + 2000)
    expect(totals).toEqual({ used: 7, reserved: 0, counted: t0 + 2000 })
    expect([...buckets.keys()]).toEqual([t0 + second, t0 + 30 * second]) // the bucket at 1 s still holds 3
  })

  it('does not move a window back for a clock behind it', () => {
    const { totals, buckets } = rollingWindow({ 0: { used: 10, reserved: 0 } }, t0 + minute)
    advanceRolling(totals, buckets, minute, second, t0 + minute)
    advanceRolling(totals, buckets, minute, second, t0)
    expect(totals).toEqual({ used: 10, reserved: 0, counted: t0 })
  })

  it('resets a rolling window when its newest tokens leave it, or now when it has none', () => {
    const { buckets } = rollingWindow({ 0: { used: 10, reserved: 0 }, 20: { used: 0, reserved: 4 }, 40: { used: 0, reserved: 0 } }, t0)
    expect(rollingResetAt(buckets, minute, second, t0 + 45 * second)).toBe(t0 + 21 * second + minute)
    expect(rollingResetAt(buckets, minute, second, t0 + 21 * second + minute)).toBe(t0 + 21 * second + minute)
    expect(rollingResetAt(new Map(), minute, second, t0)).toBe(t0)
  })

  it('adds to a bucket and, while it is counted, to the totals', () => {
    const { totals, buckets } = rollingWindow({ 0: { used: 10, reserved: 5 }, 61: { used: 0, reserved: 0 } }, t0 + 61 * second)
    addToBucket(totals, t0 + 61 * second, buckets.get(t0 + 61 * second)!, 3, 2)
    addToBucket(totals, t0, buckets.get(t0)!, 5, -5) // left the window: its own tally only
    expect(totals).toMatchObject({ used: 3, reserved: 2 })
    expect(buckets.get(t0)).toEqual({ used: 15, reserved: 0 })
  })

  it("resets after a hold at the window's end, or when the holding rolling bucket leaves", () => {
    expect(bucketLeavesAt(t0 + 5 * second, minute, second)).toBe(t0 + 6 * second + minute)
    expect(resetAfterHold({ kind: 'rolling', length: minute, bucket: second }, t0 + 5 * second, Number.NaN)).toBe(t0 + 6 * second + minute)
    expect(resetAfterHold({ kind: 'fixed', start: t0, end: t0 + minute }, t0, t0 + minute)).toBe(t0 + minute)
    expect(resetAfterHold({ kind: 'flexi', endIfStartedNow: t0 + 2 * minute }, t0, t0 + minute)).toBe(t0 + minute)
  })

  it('keeps a window that is open or still holds; drops one that is over and holds nothing', () => {
    expect(windowOpen(t0 + minute, t0 + minute - 1)).toBe(true)
    expect(windowOpen(t0 + minute, t0 + minute)).toBe(false)
    expect(evictable(t0 + minute, { used: 5, reserved: 0 }, t0 + minute)).toBe(true)
    expect(evictable(t0 + minute, { used: 5, reserved: 1 }, t0 + minute)).toBe(false)
  })
})
