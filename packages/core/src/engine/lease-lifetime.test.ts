import { describe, expect, it } from 'vitest'
import { LeaseSettledError, QuotaInputError } from '../shared/errors.js'
import type { LeaseExpiredEvent } from './events.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { maxLeaseTtlMs } from './lease.js'
import { createTokenQuota } from './token-quota.js'

const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day' }
const alice = { user: 'alice' }

function setup() {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const expired: LeaseExpiredEvent[] = []
  const quota = createTokenQuota({ policies: [userDaily], now: clock.now, leaseTtlMs: 30_000, on: { leaseExpired: (event) => expired.push(event) } })
  const usage = async () => {
    const [decision] = await quota.status(alice)
    return [decision!.used, decision!.reserved]
  }
  return { clock, quota, expired, usage }
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('lease lifetimes', () => {
  it('gives each reservation its own lifetime: a long one outlives the default, a short one expires first, each reported at its own expiry', async () => {
    const { clock, quota, expired, usage } = setup()
    const long = await quota.reserve(alice, { estimate: 1000, leaseTtlMs: 600_000 })
    const usual = await quota.reserve(alice, { estimate: 100 })
    const short = await quota.reserve(alice, { estimate: 10, leaseTtlMs: 5000 })
    expect([long.expiresAt - clock.now(), usual.expiresAt - clock.now(), short.expiresAt - clock.now()]).toEqual([600_000, 30_000, 5000])
    clock.advance(5000)
    expect(await usage()).toEqual([10, 1100])
    expect(expired.map((event) => event.leaseId)).toEqual([short.id])
    clock.advance(25_000)
    expect(await usage()).toEqual([110, 1000])
    expect(expired.map((event) => event.leaseId)).toEqual([short.id, usual.id])
    clock.advance(570_000)
    expect(await usage()).toEqual([1110, 0])
    expect(expired.map((event) => event.leaseId)).toEqual([short.id, usual.id, long.id])
  })

  it('extends a lease in the store and in the lease: it holds past its old expiry and is charged at the new one', async () => {
    const { clock, quota, expired, usage } = setup()
    const lease = await quota.reserve(alice, { estimate: 500 })
    clock.advance(20_000)
    expect(await lease.extend(60_000)).toBe(true)
    expect(lease.expiresAt).toBe(clock.now() + 60_000)
    clock.advance(30_000)
    expect(await usage()).toEqual([0, 500])
    expect(expired).toEqual([])
    clock.advance(30_000)
    expect(await usage()).toEqual([500, 0])
    expect(expired.map((event) => event.leaseId)).toEqual([lease.id])
    // Expired: the store no longer holds it, and says so; a late commit still replaces the charge once.
    expect(await lease.extend(60_000)).toBe(false)
    await lease.commit({ total: 200 })
    expect(await usage()).toEqual([200, 0])
  })

  it('keeps a lease extended past the default from blocking the report of the short ones behind it', async () => {
    const { clock, quota, expired } = setup()
    const parent = await quota.reserve(alice, { estimate: 1000 })
    await parent.extend(3_600_000)
    const children = [await quota.reserve(alice, { estimate: 10 }), await quota.reserve(alice, { estimate: 10 })]
    clock.advance(30_000)
    await quota.status(alice)
    expect(expired.map((event) => event.leaseId)).toEqual(children.map((child) => child.id))
  })

  it('refuses a lifetime that is not a positive number of ms with InvalidLease, holding and moving nothing', async () => {
    const { quota, usage } = setup()
    for (const leaseTtlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      expect(await errorOf(quota.reserve(alice, { estimate: 10, leaseTtlMs }))).toMatchObject({ code: 'InvalidLease' })
    }
    expect(await usage()).toEqual([0, 0])
    const lease = await quota.reserve(alice, { estimate: 10 })
    const error = await errorOf(lease.extend(-5))
    expect(QuotaInputError.isInstance(error) && error.code).toBe('InvalidLease')
    expect(lease.expiresAt).toBe(quota.now() + 30_000)
    await lease.release()
    expect(LeaseSettledError.isInstance(await errorOf(lease.extend(1000)))).toBe(true)
  })

  it('refuses a lifetime over a year with InvalidLease, before the store sees it (Redis cannot hold 1e20 ms and kept half a hold)', async () => {
    const { quota, usage } = setup()
    for (const leaseTtlMs of [1e20, 2 ** 53, maxLeaseTtlMs + 1]) {
      expect(await errorOf(quota.reserve(alice, { estimate: 10, leaseTtlMs }))).toMatchObject({ code: 'InvalidLease' })
    }
    expect(await usage()).toEqual([0, 0])
    const lease = await quota.reserve(alice, { estimate: 10, leaseTtlMs: maxLeaseTtlMs })
    const error = await errorOf(lease.extend(1e20))
    expect(QuotaInputError.isInstance(error) && error.code).toBe('InvalidLease')
    expect(lease.expiresAt).toBe(quota.now() + maxLeaseTtlMs)
    expect(() => createTokenQuota({ policies: [userDaily], leaseTtlMs: 1e20 })).toThrow(
      expect.objectContaining({ code: 'InvalidConfiguration', field: 'leaseTtlMs' }),
    )
    await lease.release()
  })

  it('extends a lease that holds nothing (a tool no policy selects, a zero estimate): true, not the `false` that means expired', async () => {
    const { clock, quota } = setup()
    const unmatched = await quota.reserve(alice, { tool: 'calculator' })
    const empty = await quota.reserve(alice, { estimate: 0 })
    for (const lease of [unmatched, empty]) {
      expect(await lease.extend(120_000)).toBe(true)
      expect(lease.expiresAt).toBe(clock.now() + 120_000)
    }
    expect((await unmatched.commit()).charges).toEqual([])
    await empty.commit()
  })

  it('gives the store a record of who, which policies and which model, kept with the hold', async () => {
    const { quota } = setup()
    const lease = await quota.reserve(alice, { estimate: 10, model: 'gpt-4o' })
    const kept = await quota.store.inspectLease?.({ leaseId: lease.id, now: quota.now() })
    expect(kept).toMatchObject({ state: 'holding', expiresAt: lease.expiresAt, held: [10] })
    expect(JSON.parse(kept!.record!)).toEqual({ p: [['user-daily', '=alice']], m: 'gpt-4o' })
  })
})
