import { describe, expect, it } from 'vitest'
import { describeQuotaStoreContract } from '../testing/store-contract.js'
import { MemoryStore } from './memory-store.js'
import type { CounterRequest } from './quota-store.js'

describeQuotaStoreContract('MemoryStore', { createStore: () => new MemoryStore() })

describe('MemoryStore eviction', () => {
  const day = 86_400_000
  const t0 = Date.UTC(2026, 0, 1)

  it('keeps memory flat over simulated days for a fixed set of users', async () => {
    const store = new MemoryStore()
    const sizes: number[] = []
    for (let hour = 0; hour < 24 * 7; hour += 1) {
      const now = t0 + hour * 3_600_000
      const dayStart = now - ((now - t0) % day)
      for (let user = 0; user < 50; user += 1) {
        const counters: CounterRequest[] = [
          { counter: 'daily', identifier: `=u${user}`, window: { kind: 'fixed', start: dayStart, end: dayStart + day }, limit: 1e9, amount: 10, hold: true },
          { counter: 'rolling', identifier: `=u${user}`, window: { kind: 'rolling', length: 3_600_000, bucket: 60_000 }, limit: 1e9, amount: 10, hold: true },
          { counter: 'flexi', identifier: `=u${user}`, window: { kind: 'flexi', endIfStartedNow: now + 3_600_000 }, limit: 1e9, amount: 10, hold: true },
        ]
        const leaseId = `${hour}-${user}`
        const result = await store.reserve({ leaseId, now, expiresAt: now + 60_000, counters })
        if (!result.ok) throw new Error('unexpected refusal')
        await store.settle({
          leaseId,
          now,
          expiresAt: now + 60_000,
          charges: counters.map((counter, index) => ({ ...counter, placement: result.placements[index]!, held: 10, amount: 8 })),
        })
      }
      sizes.push(store.size)
    }
    // Per user: a daily window (two around midnight until the sweep), a flexi window, and the
    // rolling hour's buckets (one call an hour here, so one or two of them).
    expect(Math.max(...sizes)).toBeLessThanOrEqual(50 * 6)
    expect(sizes.at(-1)).toBe(sizes.at(-25))
  })

  it('bounds a rolling window to its buckets, however many requests an identifier makes', async () => {
    const store = new MemoryStore()
    const window = { kind: 'rolling', length: 3_600_000, bucket: 60_000 } as const
    for (let second = 0; second < 10 * 3600; second += 7) {
      const now = t0 + second * 1000
      const counters: CounterRequest[] = [{ counter: 'rolling', identifier: '=alice', window, limit: 1e12, amount: 1, hold: true }]
      const result = await store.reserve({ leaseId: String(second), now, expiresAt: now + 1000, counters })
      if (!result.ok) throw new Error('unexpected refusal')
      await store.settle({ leaseId: String(second), now, expiresAt: now + 1000, charges: [{ ...counters[0]!, placement: result.placements[0]!, held: 1, amount: 1 }] })
      expect(store.size).toBeLessThanOrEqual(61) // expired buckets are pruned whenever the counter is read
    }
  })

  it('returns an expired lease hold even when no one settles it', async () => {
    const store = new MemoryStore()
    const counter: CounterRequest = { counter: 'c', identifier: '=a', window: { kind: 'fixed', start: t0, end: t0 + day }, limit: 100, amount: 100, hold: true }
    await store.reserve({ leaseId: 'x', now: t0, expiresAt: t0 + 10, counters: [counter] })
    expect((await store.reserve({ leaseId: 'y', now: t0 + 9, expiresAt: t0 + 100, counters: [counter] })).ok).toBe(false)
    expect((await store.reserve({ leaseId: 'z', now: t0 + 10, expiresAt: t0 + 100, counters: [counter] })).ok).toBe(true)
  })
})
