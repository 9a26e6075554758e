import { describe, expect, it } from 'vitest'
import { rollingRetryAt } from './retry.js'

const minute = 60_000
const second = 1000
const t0 = Date.UTC(2026, 0, 1)
const window = { length: minute, bucket: second }

describe('retry time on a rolling window', () => {
  const buckets = new Map([
    [t0, { used: 40, reserved: 0 }],
    [t0 + 10 * second, { used: 30, reserved: 10 }],
    [t0 + 20 * second, { used: 20, reserved: 0 }],
  ])
  const totals = { used: 90, reserved: 10 }
  const now = t0 + 30 * second
  const resetAt = t0 + 21 * second + minute

  it('is when enough of the oldest buckets have left for the amount to fit', () => {
    expect(rollingRetryAt(buckets, totals, { amount: 30, limit: 100 }, window, now, resetAt)).toBe(t0 + second + minute)
    expect(rollingRetryAt(buckets, totals, { amount: 60, limit: 100 }, window, now, resetAt)).toBe(t0 + 11 * second + minute)
  })

  it('skips buckets that left the window already', () => {
    const later = t0 + minute + 5 * second
    expect(rollingRetryAt(buckets, { used: 50, reserved: 10 }, { amount: 50, limit: 100 }, window, later, resetAt)).toBe(t0 + 11 * second + minute)
  })

  it('is the reset time when nothing short of an empty window makes room', () => {
    expect(rollingRetryAt(buckets, totals, { amount: 101, limit: 100 }, window, now, resetAt)).toBe(resetAt)
  })
})
