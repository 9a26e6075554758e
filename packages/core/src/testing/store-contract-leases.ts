import { expect, it } from 'vitest'
import type { CounterRequest, QuotaStore, ReserveResult, StoredLease, WindowSpec } from '../store/quota-store.js'

// The store contract's part on what a reservation holds and how long: `held`, fill groups,
// records, per-lease lifetimes and `extend`. Run by `describeQuotaStoreContract`.

const minute = 60_000
const t0 = Date.UTC(2026, 0, 1)
const window: WindowSpec = { kind: 'fixed', start: t0, end: t0 + 10 * minute }

let leases = 0
const nextLeaseId = () => `held-lease-${++leases}`

function counter(overrides: Partial<CounterRequest> = {}): CounterRequest {
  return { counter: 'policy', identifier: '=alice', window, limit: 100, amount: 10, hold: true, ...overrides }
}

function expectOk(result: ReserveResult): Extract<ReserveResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the reservation to succeed, got ${JSON.stringify(result)}`)
  return result
}

/** The contract's lease tests, for the store `current()` returns in each test. */
export function leaseContractTests(current: () => QuotaStore): void {
  const usedReserved = async (now: number, counters: CounterRequest[]) =>
    (await current().read({ now, counters })).map(({ used, reserved }) => [used, reserved])
  const inspect = async (leaseId: string, now: number): Promise<StoredLease | undefined> => {
    const store = current()
    if (!store.inspectLease) throw new Error('the store has no inspectLease: every store of the contract must tell what it keeps of a lease')
    return store.inspectLease({ leaseId, now })
  }

  it('says what it held per counter: the amount with hold, nothing for a check', async () => {
    const result = expectOk(
      await current().reserve({
        leaseId: nextLeaseId(),
        now: t0,
        expiresAt: t0 + minute,
        counters: [counter({ amount: 30 }), counter({ counter: 'check', amount: 7, hold: false })],
      }),
    )
    expect(result.held).toEqual([30, 0])
  })

  it('fills a group in order: each counter as much as fits, the rest on the last; refused only when together they cannot hold it', async () => {
    const allowance = counter({ counter: 'plan', limit: 100, group: 'g' })
    const credits = counter({ counter: 'credits', limit: 50, group: 'g' })
    const store = current()
    const first = expectOk(
      await store.reserve({
        leaseId: nextLeaseId(),
        now: t0,
        expiresAt: t0 + minute,
        counters: [
          { ...allowance, amount: 120 },
          { ...credits, amount: 120 },
        ],
      }),
    )
    expect(first.held).toEqual([100, 20])
    expect(await usedReserved(t0 + 1, [allowance, credits])).toEqual([
      [0, 100],
      [0, 20],
    ])
    // 30 credits left: 40 more does not fit anywhere, and the refusal writes nothing.
    const refused = await store.reserve({
      leaseId: nextLeaseId(),
      now: t0 + 2,
      expiresAt: t0 + minute,
      counters: [
        { ...allowance, amount: 40 },
        { ...credits, amount: 40 },
      ],
    })
    expect(refused.ok).toBe(false)
    if (!refused.ok) expect(refused.refusals.map((refusal) => refusal.index)).toEqual([1])
    const fits = expectOk(
      await store.reserve({
        leaseId: nextLeaseId(),
        now: t0 + 3,
        expiresAt: t0 + minute,
        counters: [
          { ...allowance, amount: 30 },
          { ...credits, amount: 30 },
        ],
      }),
    )
    expect(fits.held).toEqual([0, 30])
  })

  it('returns on settle exactly what each counter of a group held', async () => {
    const allowance = counter({ counter: 'plan', limit: 100, group: 'g', amount: 120 })
    const credits = counter({ counter: 'credits', limit: 50, group: 'g', amount: 120 })
    const store = current()
    const leaseId = nextLeaseId()
    const result = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters: [allowance, credits] }))
    const charges = [
      { ...allowance, placement: result.placements[0]!, held: result.held[0]!, amount: 100 },
      { ...credits, placement: result.placements[1]!, held: result.held[1]!, amount: 5 },
    ]
    await store.settle({ leaseId, hold: result.hold, now: t0 + 1, expiresAt: t0 + minute, charges })
    expect(await usedReserved(t0 + 2, [allowance, credits])).toEqual([
      [100, 0],
      [5, 0],
    ])
  })

  it('charges a settle sent again after it applied nothing, on every kind of window (a lost reply, a retried commit)', async () => {
    const counters = [
      counter({ amount: 50 }),
      counter({ counter: 'rolling', window: { kind: 'rolling', length: 10 * minute, bucket: minute }, amount: 50 }),
      counter({ counter: 'flexi', window: { kind: 'flexi', endIfStartedNow: t0 + 10 * minute }, amount: 50 }),
    ]
    const store = current()
    const leaseId = nextLeaseId()
    const reserved = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters }))
    const charges = counters.map((entry, index) => ({ ...entry, placement: reserved.placements[index]!, held: 50, amount: 35 }))
    const settle = (now: number) => store.settle({ leaseId, hold: reserved.hold, now, expiresAt: t0 + minute, charges })
    await settle(t0 + 1)
    expect(await usedReserved(t0 + 2, counters)).toEqual([
      [35, 0],
      [35, 0],
      [35, 0],
    ])
    await settle(t0 + 3)
    await Promise.all([settle(t0 + 4), settle(t0 + 4)])
    expect(await usedReserved(t0 + 5, counters)).toEqual([
      [35, 0],
      [35, 0],
      [35, 0],
    ])
  })

  it('keeps the record with the hold, through its expiry, and forgets the lease once settled', async () => {
    const store = current()
    const record = JSON.stringify({ who: 'alice', policies: ['policy'], model: 'gpt-4o', price: 'table' })
    const kept = nextLeaseId()
    expectOk(await store.reserve({ leaseId: kept, now: t0, expiresAt: t0 + 1000, counters: [counter({ amount: 30 })], record }))
    expect(await inspect(kept, t0 + 1)).toEqual({ state: 'holding', expiresAt: t0 + 1000, record, held: [30] })
    expect(await inspect(kept, t0 + 1000)).toMatchObject({ state: 'charged', record, held: [30] })
    const settled = nextLeaseId()
    const result = expectOk(
      await store.reserve({ leaseId: settled, now: t0, expiresAt: t0 + minute, counters: [counter({ amount: 5 })], record, onExpiry: 'release' }),
    )
    expect(await inspect(settled, t0 + 1)).toMatchObject({ state: 'holding', record })
    const charges = [{ ...counter(), placement: result.placements[0]!, held: 5, amount: 5 }]
    await store.settle({ leaseId: settled, hold: result.hold, now: t0 + 2, expiresAt: t0 + minute, charges })
    expect(await inspect(settled, t0 + 3)).toBeUndefined()
    expect(await inspect('never-reserved', t0 + 3)).toBeUndefined()
  })

  it('expires each hold at its own time: a long-lived lease does not delay the expiry of short ones made after it', async () => {
    const long = counter({ counter: 'long', amount: 40 })
    const short = counter({ counter: 'short', amount: 10 })
    const store = current()
    expectOk(await store.reserve({ leaseId: nextLeaseId(), now: t0, expiresAt: t0 + 8 * minute, counters: [long] }))
    for (let i = 0; i < 3; i += 1) expectOk(await store.reserve({ leaseId: nextLeaseId(), now: t0 + i, expiresAt: t0 + 1000 + i, counters: [short] }))
    expect(await usedReserved(t0 + 2000, [long, short])).toEqual([
      [0, 40],
      [30, 0],
    ])
    expect(await usedReserved(t0 + 8 * minute, [long, short])).toEqual([
      [40, 0],
      [30, 0],
    ])
  })

  it('extends a lease: its hold outlives the old expiry and ends at the new one; a settled or expired lease is not extended', async () => {
    const store = current()
    const leaseId = nextLeaseId()
    const result = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + 1000, counters: [counter({ amount: 30 })] }))
    expect(await store.extend({ leaseId, hold: result.hold, now: t0 + 500, expiresAt: t0 + 5000 })).toBe(true)
    expect(await store.extend({ leaseId, hold: result.hold, now: t0 + 500, expiresAt: t0 + 5000 })).toBe(true) // a retry
    expect(await usedReserved(t0 + 2000, [counter()])).toEqual([[0, 30]])
    expect(await inspect(leaseId, t0 + 2000)).toMatchObject({ state: 'holding', expiresAt: t0 + 5000 })
    expect(await usedReserved(t0 + 5000, [counter()])).toEqual([[30, 0]])
    expect(await store.extend({ leaseId, hold: result.hold, now: t0 + 5001, expiresAt: t0 + 9000 })).toBe(false)
    expect(await usedReserved(t0 + 5002, [counter()])).toEqual([[30, 0]])

    const settled = nextLeaseId()
    const other = expectOk(await store.reserve({ leaseId: settled, now: t0, expiresAt: t0 + minute, counters: [counter({ counter: 'other', amount: 5 })] }))
    await store.settle({
      leaseId: settled,
      hold: other.hold,
      now: t0 + 1,
      expiresAt: t0 + minute,
      charges: [{ ...counter({ counter: 'other' }), placement: other.placements[0]!, held: 5, amount: 5 }],
    })
    expect(await store.extend({ leaseId: settled, hold: other.hold, now: t0 + 2, expiresAt: t0 + 2 * minute })).toBe(false)
    expect(await store.extend({ leaseId: 'never-reserved', now: t0 + 2, expiresAt: t0 + 2 * minute })).toBe(false)
  })

  it('extends a lease to an earlier expiry too', async () => {
    const store = current()
    const leaseId = nextLeaseId()
    const result = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + 5 * minute, counters: [counter({ amount: 30 })] }))
    expect(await store.extend({ leaseId, hold: result.hold, now: t0 + 10, expiresAt: t0 + 1000 })).toBe(true)
    expect(await usedReserved(t0 + 1000, [counter()])).toEqual([[30, 0]])
  })
}
