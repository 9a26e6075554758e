import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CounterRequest, QuotaStore, ReserveResult, WindowSpec } from '../store/quota-store.js'
import { leaseContractTests } from './store-contract-leases.js'

export interface StoreContractOptions {
  /** A fresh, empty store for each test (a new key prefix is enough for shared servers). */
  readonly createStore: () => QuotaStore | Promise<QuotaStore>
  /** Called after each test with the store it used. */
  readonly disposeStore?: (store: QuotaStore) => void | Promise<void>
}

const minute = 60_000
const t0 = Date.UTC(2026, 0, 1)
const fixed = (start: number, length = minute): WindowSpec => ({ kind: 'fixed', start, end: start + length })
const rolling: WindowSpec = { kind: 'rolling', length: minute, bucket: 1000 }

let leaseCounter = 0
const nextLeaseId = () => `lease-${++leaseCounter}`

function counter(overrides: Partial<CounterRequest> = {}): CounterRequest {
  return { counter: 'policy', identifier: '=alice', window: fixed(t0), limit: 100, amount: 10, hold: true, ...overrides }
}

function expectOk(result: ReserveResult): Extract<ReserveResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the reservation to succeed, got ${JSON.stringify(result)}`)
  return result
}

/**
 * The behaviour every `QuotaStore` must have. Call it inside a test file:
 * `describeQuotaStoreContract('RedisStore', { createStore: () => new RedisStore(...) })`.
 */
export function describeQuotaStoreContract(name: string, options: StoreContractOptions): void {
  describe(`${name} (QuotaStore contract)`, () => {
    let store: QuotaStore

    beforeEach(async () => {
      store = await options.createStore()
    })
    afterEach(async () => {
      await options.disposeStore?.(store)
    })

    const reserve = (now: number, counters: CounterRequest[], ttl = minute) => store.reserve({ leaseId: nextLeaseId(), now, expiresAt: now + ttl, counters })
    const read = async (now: number, request: CounterRequest) => (await store.read({ now, counters: [request] }))[0]!

    it('reads an unknown counter as empty', async () => {
      expect(await read(t0, counter())).toEqual({ used: 0, reserved: 0, windowStart: t0, resetAt: t0 + minute })
    })

    it('holds a reservation and reports it', async () => {
      const result = expectOk(await reserve(t0 + 5, [counter({ amount: 30 })]))
      expect(result.placements).toEqual([t0])
      expect(result.snapshots[0]).toMatchObject({ used: 0, reserved: 30 })
      expect(await read(t0 + 6, counter())).toMatchObject({ used: 0, reserved: 30 })
    })

    it('admits up to the limit exactly and refuses beyond it, with the window end as retry time', async () => {
      expectOk(await reserve(t0, [counter({ amount: 60 })]))
      expectOk(await reserve(t0, [counter({ amount: 40 })]))
      const refused = await reserve(t0 + 10, [counter({ amount: 1 })])
      expect(refused).toEqual({
        ok: false,
        refusals: [{ index: 0, snapshot: { used: 0, reserved: 100, windowStart: t0, resetAt: t0 + minute }, retryAt: t0 + minute }],
      })
    })

    it('is all or nothing across counters: a refusal writes nothing', async () => {
      expectOk(await reserve(t0, [counter({ identifier: '=org', counter: 'org', amount: 95 })]))
      const refused = await reserve(t0, [counter({ amount: 10 }), counter({ identifier: '=org', counter: 'org', amount: 10 })])
      expect(refused.ok).toBe(false)
      expect(await read(t0, counter())).toMatchObject({ used: 0, reserved: 0 })
      expect(await read(t0, counter({ identifier: '=org', counter: 'org' }))).toMatchObject({ reserved: 95 })
    })

    it('reports every refusing counter', async () => {
      const result = await reserve(t0, [counter({ amount: 101 }), counter({ counter: 'other', limit: 5, amount: 6 }), counter({ counter: 'fine' })])
      expect(result.ok).toBe(false)
      if (!result.ok) expect(result.refusals.map((refusal) => refusal.index)).toEqual([0, 1])
    })

    it('never refuses a counter without a limit, and a check without hold holds nothing', async () => {
      expectOk(await reserve(t0, [counter({ limit: undefined, amount: 1_000_000 })]))
      expectOk(await reserve(t0, [counter({ counter: 'check', hold: false, amount: 50 })]))
      expect(await read(t0, counter({ counter: 'check' }))).toMatchObject({ used: 0, reserved: 0 })
    })

    it('settles: the hold is replaced by the real charge, with used before and after', async () => {
      const leaseId = nextLeaseId()
      const result = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters: [counter({ amount: 50 })] }))
      const outcomes = await store.settle({
        leaseId,
        hold: result.hold,
        now: t0 + 1,
        expiresAt: t0 + minute,
        charges: [{ ...counter(), placement: result.placements[0]!, held: 50, amount: 35 }],
      })
      expect(outcomes).toEqual([{ usedBefore: 0, usedAfter: 35 }])
      expect(await read(t0 + 2, counter())).toMatchObject({ used: 35, reserved: 0 })
    })

    it('charges the hold of an unsettled lease at its expiry; a late commit replaces that charge, once', async () => {
      const leaseId = nextLeaseId()
      const result = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + 1000, counters: [counter({ amount: 80 })] }))
      expect(await read(t0 + 999, counter())).toMatchObject({ used: 0, reserved: 80 })
      expect(await read(t0 + 1000, counter())).toMatchObject({ used: 80, reserved: 0 })
      const late = {
        leaseId,
        hold: result.hold,
        now: t0 + 2000,
        expiresAt: t0 + 1000,
        charges: [{ ...counter(), placement: result.placements[0]!, held: 80, amount: 20 }],
      }
      await store.settle(late)
      expect(await read(t0 + 2001, counter())).toMatchObject({ used: 20, reserved: 0 })
      await store.settle(late) // a retry whose answer was lost
      expect(await read(t0 + 2002, counter())).toMatchObject({ used: 20, reserved: 0 })
    })

    it('holds a lease once, however often its reservation is sent (a lost reply, a call re-sent on reconnect), and answers as the first time', async () => {
      const flexi: WindowSpec = { kind: 'flexi', endIfStartedNow: t0 + minute }
      const counters = [
        counter({ amount: 30 }),
        counter({ counter: 'rolling', window: rolling, amount: 20 }),
        counter({ counter: 'flexi', window: flexi, amount: 10 }),
      ]
      const request = { leaseId: nextLeaseId(), now: t0, expiresAt: t0 + 1000, counters }
      const first = expectOk(await store.reserve(request))
      // Sent again alone, and twice at once (so a store that batches gets both in one call).
      expect(await store.reserve(request)).toEqual(first)
      expect(await Promise.all([store.reserve(request), store.reserve(request)])).toEqual([first, first])
      expect((await store.read({ now: t0 + 1, counters })).map(({ used, reserved }) => [used, reserved])).toEqual([
        [0, 30],
        [0, 20],
        [0, 10],
      ])
      // Expiry charges the one hold; a copy that arrives after it holds nothing either.
      expect((await store.read({ now: t0 + 1000, counters })).map(({ used, reserved }) => [used, reserved])).toEqual([
        [30, 0],
        [20, 0],
        [10, 0],
      ])
      await store.reserve(request)
      expect((await store.read({ now: t0 + 2000, counters })).map(({ used, reserved }) => [used, reserved])).toEqual([
        [30, 0],
        [20, 0],
        [10, 0],
      ])
    })

    it('settles a lease reserved twice once: its hold is returned and only the real charge stays', async () => {
      const request = { leaseId: nextLeaseId(), now: t0, expiresAt: t0 + 1000, counters: [counter({ amount: 50 })] }
      const first = expectOk(await store.reserve(request))
      expectOk(await store.reserve(request))
      const charges = [{ ...counter(), placement: first.placements[0]!, held: 50, amount: 35 }]
      expect(await store.settle({ leaseId: request.leaseId, hold: first.hold, now: t0 + 1, expiresAt: t0 + 1000, charges })).toEqual([
        { usedBefore: 0, usedAfter: 35 },
      ])
      expect(await read(t0 + 2, counter())).toMatchObject({ used: 35, reserved: 0 })
      // Nothing is left to expire and be charged.
      expect(await read(t0 + 1000, counter())).toMatchObject({ used: 35, reserved: 0 })
    })

    it('charges expired holds on rolling and flexi windows too', async () => {
      const flexi: WindowSpec = { kind: 'flexi', endIfStartedNow: t0 + minute }
      const counters = [counter({ window: rolling, amount: 30 }), counter({ counter: 'flexi', window: flexi, amount: 40 })]
      expectOk(await store.reserve({ leaseId: nextLeaseId(), now: t0, expiresAt: t0 + 1000, counters }))
      const [rollingView, flexiView] = await store.read({ now: t0 + 1000, counters })
      expect(rollingView).toMatchObject({ used: 30, reserved: 0 })
      expect(flexiView).toMatchObject({ used: 40, reserved: 0 })
    })

    it('expires a short-lived hold on time behind a longer-lived one (each lease its own lifetime)', async () => {
      const lease = (amount: number, expiresAt: number, onExpiry?: 'release') =>
        store.reserve({ leaseId: nextLeaseId(), now: t0, expiresAt, counters: [counter({ amount })], onExpiry })
      // A long-lived hold first (an agent's parent budget), then two short leases behind it.
      expectOk(await lease(40, t0 + 50_000))
      expectOk(await lease(30, t0 + 1000))
      expectOk(await lease(30, t0 + 2000, 'release'))
      expect(await read(t0 + 999, counter())).toMatchObject({ used: 0, reserved: 100 })
      // The first short lease expired and was charged, though the long hold ahead of it still holds.
      expect(await read(t0 + 1000, counter())).toMatchObject({ used: 30, reserved: 70 })
      // The second was returned at its expiry: its 30 are free for a new reservation.
      expectOk(await reserve(t0 + 2000, [counter({ amount: 30 })], 1000))
      expect(await read(t0 + 3000, counter())).toMatchObject({ used: 60, reserved: 40 })
      expect(await read(t0 + 50_000, counter())).toMatchObject({ used: 100, reserved: 0 })
    })

    it("returns the hold at expiry instead for a lease reserved with onExpiry: 'release', and charges its late commit once", async () => {
      const leaseId = nextLeaseId()
      const result = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + 1000, counters: [counter({ amount: 80 })], onExpiry: 'release' }))
      expect(await read(t0 + 1000, counter())).toMatchObject({ used: 0, reserved: 0 })
      const late = {
        leaseId,
        hold: result.hold,
        now: t0 + 2000,
        expiresAt: t0 + 1000,
        charges: [{ ...counter(), placement: result.placements[0]!, held: 80, amount: 20 }],
      }
      await store.settle(late)
      await store.settle(late)
      expect(await read(t0 + 2001, counter())).toMatchObject({ used: 20, reserved: 0 })
    })

    it('keeps windows apart: a new fixed window starts empty', async () => {
      expectOk(await reserve(t0, [counter({ amount: 100 })]))
      const next = counter({ window: fixed(t0 + minute) })
      expect(await read(t0 + minute, next)).toMatchObject({ used: 0, reserved: 0, windowStart: t0 + minute })
      expectOk(await reserve(t0 + minute, [next]))
    })

    it('keeps identifiers apart, whatever their bytes', async () => {
      const identifiers = ['={}', '=:', '=*', '=a\nb', '=a\u0000b', '=a', `=${'x'.repeat(10_000)}`, '=ключ', '=🙂', '*bucket', '']
      for (const identifier of identifiers) expectOk(await reserve(t0, [counter({ identifier, amount: 1 + identifiers.indexOf(identifier) })]))
      for (const identifier of identifiers) {
        expect(await read(t0, counter({ identifier }))).toMatchObject({ reserved: 1 + identifiers.indexOf(identifier) })
      }
    })

    it('slides a rolling window: tokens leave after its length, and retryAt is exact', async () => {
      const roll = (overrides: Partial<CounterRequest> = {}) => counter({ window: rolling, ...overrides })
      const first = nextLeaseId()
      const a = expectOk(await store.reserve({ leaseId: first, now: t0 + 500, expiresAt: t0 + 10 * minute, counters: [roll({ amount: 60 })] }))
      await store.settle({
        leaseId: first,
        hold: a.hold,
        now: t0 + 600,
        expiresAt: t0 + 10 * minute,
        charges: [{ ...roll(), placement: a.placements[0]!, held: 60, amount: 60 }],
      })
      const second = nextLeaseId()
      const b = expectOk(await store.reserve({ leaseId: second, now: t0 + 20_000, expiresAt: t0 + 10 * minute, counters: [roll({ amount: 40 })] }))
      await store.settle({
        leaseId: second,
        hold: b.hold,
        now: t0 + 20_001,
        expiresAt: t0 + 10 * minute,
        charges: [{ ...roll(), placement: b.placements[0]!, held: 40, amount: 40 }],
      })

      const refused = await reserve(t0 + 30_000, [roll({ amount: 50 })])
      expect(refused.ok).toBe(false)
      // The 60 tokens of bucket [t0, t0+1s) leave the window once its end is a full minute old.
      if (!refused.ok) expect(refused.refusals[0]!.retryAt).toBe(t0 + 1000 + minute)
      expect(await read(t0 + 1000 + minute - 1, roll())).toMatchObject({ used: 100 })
      expect(await read(t0 + 1000 + minute, roll())).toMatchObject({ used: 40 })
      expectOk(await reserve(t0 + 1000 + minute, [roll({ amount: 50 })]))
      expect(await read(t0 + 21_000 + minute, roll())).toMatchObject({ used: 0, reserved: 50 })
    })

    it('gives a rolling window a finite retry time even for more than its limit: when its newest tokens leave it', async () => {
      const roll = (amount: number) => counter({ window: rolling, amount })
      expectOk(await reserve(t0 + 500, [roll(30)], 10 * minute))
      expectOk(await reserve(t0 + 20_500, [roll(20)], 10 * minute))
      const refused = await reserve(t0 + 30_000, [roll(101)])
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.refusals[0]).toMatchObject({ retryAt: t0 + 20_000 + 1000 + minute, snapshot: { resetAt: t0 + 20_000 + 1000 + minute } })
    })

    it("reports a rolling window's total, not one bucket's, as used before and after a charge", async () => {
      const roll = counter({ window: rolling })
      for (const [offset, amount, before] of [
        [0, 30, 0],
        [5000, 20, 30],
      ] as const) {
        const leaseId = nextLeaseId()
        const result = expectOk(await store.reserve({ leaseId, now: t0 + offset, expiresAt: t0 + minute, counters: [roll] }))
        const outcomes = await store.settle({
          leaseId,
          hold: result.hold,
          now: t0 + offset,
          expiresAt: t0 + minute,
          charges: [{ ...roll, placement: result.placements[0]!, held: 10, amount }],
        })
        expect(outcomes).toEqual([{ usedBefore: before, usedAfter: before + amount }])
      }
    })

    it('opens a flexi window at the first admitted request, not at a refused one', async () => {
      const flexi = (now: number, overrides: Partial<CounterRequest> = {}) =>
        counter({ window: { kind: 'flexi', endIfStartedNow: now + minute }, ...overrides })
      const refused = await reserve(t0, [flexi(t0, { amount: 101 })])
      expect(refused.ok).toBe(false)
      const opened = expectOk(await reserve(t0 + 5000, [flexi(t0 + 5000, { amount: 100 })]))
      expect(opened.placements).toEqual([t0 + 5000])
      expect(await read(t0 + 6000, flexi(t0 + 6000))).toMatchObject({ windowStart: t0 + 5000, resetAt: t0 + 5000 + minute, reserved: 100 })
      const full = await reserve(t0 + 6000, [flexi(t0 + 6000)])
      if (full.ok) throw new Error('expected a refusal')
      expect(full.refusals[0]!.retryAt).toBe(t0 + 5000 + minute)
      const reopened = expectOk(await reserve(t0 + 5000 + minute, [flexi(t0 + 5000 + minute)]))
      expect(reopened.placements).toEqual([t0 + 5000 + minute])
    })

    it('admits exactly the capacity under concurrent reservations', async () => {
      const results = await Promise.all(Array.from({ length: 50 }, () => reserve(t0, [counter({ amount: 7 })])))
      expect(results.filter((result) => result.ok)).toHaveLength(14)
      expect(await read(t0, counter())).toMatchObject({ reserved: 98 })
    })

    leaseContractTests(() => store)
  })
}
