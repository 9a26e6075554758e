import { describe, expect, it } from 'vitest'
import { describeQuotaStoreContract } from '../testing/store-contract.js'
import { describeStoreAdminContract } from '../testing/store-admin-contract.js'
import { describeStoreCreditsContract } from '../testing/store-contract-credits.js'
import { MemoryStore } from './memory-store.js'
import type { CounterRequest, ReserveResult } from './quota-store.js'

describeQuotaStoreContract('MemoryStore', { createStore: () => new MemoryStore() })
describeStoreAdminContract('MemoryStore', { createStore: () => new MemoryStore() })
describeStoreCreditsContract('MemoryStore', () => new MemoryStore())

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
          hold: result.hold,
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
      await store.settle({
        hold: result.hold,
        leaseId: String(second),
        now,
        expiresAt: now + 1000,
        charges: [{ ...counters[0]!, placement: result.placements[0]!, held: 1, amount: 1 }],
      })
      expect(store.size).toBeLessThanOrEqual(61) // expired buckets are pruned whenever the counter is read
    }
  })

  it("returns an expired lease hold even when no one settles it (onExpiry: 'release')", async () => {
    const store = new MemoryStore()
    const counter: CounterRequest = { counter: 'c', identifier: '=a', window: { kind: 'fixed', start: t0, end: t0 + day }, limit: 100, amount: 100, hold: true }
    await store.reserve({ leaseId: 'x', now: t0, expiresAt: t0 + 10, counters: [counter], onExpiry: 'release' })
    expect((await store.reserve({ leaseId: 'y', now: t0 + 9, expiresAt: t0 + 100, counters: [counter] })).ok).toBe(false)
    expect((await store.reserve({ leaseId: 'z', now: t0 + 10, expiresAt: t0 + 100, counters: [counter] })).ok).toBe(true)
  })

  it('keeps an unsettled hold through the compaction of thousands of settled ones, and charges it at expiry', async () => {
    const store = new MemoryStore()
    const counter: CounterRequest = { counter: 'c', identifier: '=a', window: { kind: 'fixed', start: t0, end: t0 + day }, limit: 1e9, amount: 10, hold: true }
    const reserved = new Map<string, Extract<ReserveResult, { ok: true }>>()
    for (let index = 0; index < 5000; index += 1) {
      const result = await store.reserve({ leaseId: `l${index}`, now: t0 + index, expiresAt: t0 + index + 60_000, counters: [counter] })
      if (!result.ok) throw new Error('unexpected refusal')
      reserved.set(`l${index}`, result)
    }
    // Settle all but one, newest first, so the queue's head stays unsettled while the rest is compacted.
    for (let index = 4999; index >= 0; index -= 1) {
      if (index === 1234) continue
      await store.settle({
        hold: reserved.get(`l${index}`)!.hold,
        leaseId: `l${index}`,
        now: t0 + 5000,
        expiresAt: t0 + index + 60_000,
        charges: [{ ...counter, placement: reserved.get(`l${index}`)!.placements[0]!, held: 10, amount: 1 }],
      })
    }
    const [before] = await store.read({ now: t0 + 5001, counters: [counter] })
    expect(before).toMatchObject({ used: 4999, reserved: 10 })
    const [after] = await store.read({ now: t0 + 1234 + 60_000, counters: [counter] })
    expect(after).toMatchObject({ used: 4999 + 10, reserved: 0 })
  })

  it('keeps each fixed window apart when the clock steps back into an earlier one', async () => {
    const store = new MemoryStore()
    const windowAt = (start: number): CounterRequest => ({
      counter: 'c',
      identifier: '=a',
      window: { kind: 'fixed', start, end: start + day },
      limit: 100,
      amount: 60,
      hold: true,
    })
    const place = async (leaseId: string, now: number, start: number) => {
      const result = await store.reserve({ leaseId, now, expiresAt: now + 60_000, counters: [windowAt(start)] })
      if (!result.ok) return false
      await store.settle({
        leaseId,
        hold: result.hold,
        now,
        expiresAt: now + 60_000,
        charges: [{ ...windowAt(start), placement: result.placements[0]!, held: 60, amount: 60 }],
      })
      return true
    }
    expect(await place('today', t0 + day, t0 + day)).toBe(true)
    expect(await place('yesterday', t0 + day - 1, t0)).toBe(true) // the clock went back a millisecond
    expect(await place('today again', t0 + day + 1, t0 + day)).toBe(false) // today's 60 are still counted
    const [today, yesterday] = await store.read({ now: t0 + day + 1, counters: [windowAt(t0 + day), windowAt(t0)] })
    expect([today!.used, yesterday!.used]).toEqual([60, 60])
  })
})

describe('MemoryStore last refusals', () => {
  it('keeps at most 100,000, dropping the oldest, so refused hostile identifiers cannot grow it without bound', async () => {
    const store = new MemoryStore()
    const t0 = Date.UTC(2026, 0, 1)
    const window = { kind: 'fixed', start: t0, end: t0 + 60_000 } as const
    const ref = (index: number): CounterRequest => ({ counter: 'c', identifier: `=${index}`, window, limit: 0, amount: 1, hold: true })
    for (let index = 0; index <= 100_000; index += 1) store.reserve({ leaseId: `l${index}`, now: t0, expiresAt: t0 + 60_000, counters: [ref(index)] })
    const [oldest, second, newest] = await store.admin.readAdmin({ now: t0, counters: [ref(0), ref(1), ref(100_000)] })
    expect([oldest!.lastRefusal, second!.lastRefusal?.requested, newest!.lastRefusal?.requested]).toEqual([undefined, 1, 1])
  })
})
