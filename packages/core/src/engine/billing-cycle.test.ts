import { describe, expect, it } from 'vitest'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import type { WarningEvent } from './events.js'
import { createTokenQuota } from './token-quota.js'

const iso = (time: number) => new Date(time).toISOString()
const isLeap = (year: number) => new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1
/** The first leap (or common) year after the fake clock's: never today's date. */
function yearAfterClock(leap: boolean): number {
  let year = new Date(createFakeClock().now()).getUTCFullYear() + 1
  while (isLeap(year) !== leap) year += 1
  return year
}

const plan: QuotaPolicy = { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', anchor: 'subscribedAt' }

function setup(policies: readonly QuotaPolicy[], start: number) {
  const clock = createFakeClock(start)
  const warnings: WarningEvent[] = []
  const quota = createTokenQuota({ policies, now: clock.now, on: { warning: (event) => warnings.push(event) } })
  const spend = async (context: QuotaContext, total: number) => {
    const lease = await quota.reserve(context, { estimate: total })
    await lease.commit({ input: total, output: 0, total })
  }
  return { clock, quota, warnings, spend }
}

describe('billing cycles anchored to each customer', () => {
  it.each([false, true])('an anchor on 31 January resets on 28 February (29 in a leap year: %s), then 31 March', async (leap) => {
    const year = yearAfterClock(leap)
    const { clock, quota, spend } = setup([plan], Date.UTC(year, 1, 10))
    const alice = { user: 'alice', subscribedAt: `${year - 1}-01-31` }
    await spend(alice, 100)
    const [first] = await quota.status(alice)
    expect([iso(first!.windowStart), iso(first!.resetAt), first!.used]).toEqual([
      `${year}-01-31T00:00:00.000Z`,
      `${year}-02-${leap ? 29 : 28}T00:00:00.000Z`,
      100,
    ])
    await expect(quota.reserve(alice, { estimate: 1 })).rejects.toThrow(TokenQuotaExceededError)

    clock.set(first!.resetAt)
    await spend(alice, 40)
    const [second] = await quota.status(alice)
    expect([iso(second!.resetAt), second!.used]).toEqual([`${year}-03-31T00:00:00.000Z`, 40])
  })

  it('each customer has their own cycle on the same policy', async () => {
    const year = yearAfterClock(false)
    const { quota, spend } = setup([plan], Date.UTC(year, 5, 20, 12))
    const alice = { user: 'alice', subscribedAt: new Date(Date.UTC(year - 1, 2, 3, 17)) }
    const bob = { user: 'bob', subscribedAt: Date.UTC(year, 5, 25) }
    await spend(alice, 10)
    await spend(bob, 20)
    const [aliceCycle] = await quota.status(alice)
    const [bobCycle] = await quota.status(bob)
    expect([iso(aliceCycle!.windowStart), iso(aliceCycle!.resetAt)]).toEqual([`${year}-06-03T00:00:00.000Z`, `${year}-07-03T00:00:00.000Z`])
    // Bob subscribes on the 25th: before it, the same grid extends backwards.
    expect([iso(bobCycle!.windowStart), iso(bobCycle!.resetAt)]).toEqual([`${year}-05-25T00:00:00.000Z`, `${year}-06-25T00:00:00.000Z`])
  })

  it("the policy's time zone puts the boundary at the customer's local midnight", async () => {
    const year = yearAfterClock(false)
    const tokyo: QuotaPolicy = { ...plan, timeZone: 'Asia/Tokyo' }
    const { clock, quota, spend } = setup([tokyo], Date.UTC(year, 1, 27, 14, 59))
    const alice = { user: 'alice', subscribedAt: `${year}-01-31` }
    await spend(alice, 100)
    expect((await quota.status(alice))[0]).toMatchObject({ used: 100, resetAt: Date.UTC(year, 1, 27, 15) })
    clock.advance(60_000)
    expect((await quota.status(alice))[0]).toMatchObject({ used: 0, windowStart: Date.UTC(year, 1, 27, 15) })
    await spend(alice, 100)
  })

  it('without an anchor: calendar months, and one MissingAnchor warning per policy', async () => {
    const year = yearAfterClock(false)
    const { quota, warnings, spend } = setup([plan], Date.UTC(year, 1, 10))
    await spend({ user: 'carol' }, 30)
    await spend({ user: 'dave', subscribedAt: null as unknown as string }, 30)
    expect((await quota.status({ user: 'carol' }))[0]).toMatchObject({ used: 30, windowStart: Date.UTC(year, 1, 1), resetAt: Date.UTC(year, 2, 1) })
    expect(warnings.map((warning) => warning.code)).toEqual(['MissingAnchor'])
    expect(warnings[0]!.message).toMatch(/"plan".*calendar windows/)
  })

  it('an anchor that is not a date refuses the request and charges nothing', async () => {
    const { quota } = setup([plan], Date.UTC(yearAfterClock(false), 1, 10))
    await expect(quota.reserve({ user: 'erin', subscribedAt: 'soon' }, { estimate: 5 })).rejects.toMatchObject({ code: 'InvalidAnchor', policy: 'plan' })
    expect((await quota.status({ user: 'erin' }))[0]).toMatchObject({ used: 0, reserved: 0 })
  })
})

describe('a plan change takes effect at once and keeps the usage of the current cycle', () => {
  const start = Date.UTC(yearAfterClock(false), 3, 10)
  const planOf = (context: QuotaContext) => context.plan as string

  it('an allow function: the new limit applies to the same counter', async () => {
    const byPlan: QuotaPolicy = { ...plan, allow: (context) => (planOf(context) === 'pro' ? 500 : 100) }
    const { quota, spend } = setup([byPlan], start)
    const basic = { user: 'alice', subscribedAt: '2020-01-05', plan: 'basic' }
    await spend(basic, 90)
    await expect(quota.reserve(basic, { estimate: 20 })).rejects.toThrow(TokenQuotaExceededError)
    const pro = { ...basic, plan: 'pro' }
    expect((await quota.status(pro))[0]).toMatchObject({ allowed: 500, used: 90, available: 410 })
    await spend(pro, 20)
    // A downgrade keeps the 110 used: over the basic limit at once.
    expect((await quota.status(basic))[0]).toMatchObject({ allowed: 100, used: 110, available: 0 })
  })

  it('a class table with shareCounter: one counter for every class', async () => {
    const classes: QuotaPolicy = { ...plan, allow: { class: 'plan', counts: { basic: 100, pro: 500 }, shareCounter: true } }
    const { quota, spend } = setup([classes], start)
    const basic = { user: 'alice', subscribedAt: '2020-01-05', plan: 'basic' }
    await spend(basic, 90)
    const pro = { ...basic, plan: 'pro' }
    expect((await quota.status(pro))[0]).toMatchObject({ class: 'pro', allowed: 500, used: 90 })
    await spend(pro, 20)
    expect((await quota.status(basic))[0]).toMatchObject({ class: 'basic', allowed: 100, used: 110, available: 0 })
    await expect(quota.reserve(basic, { estimate: 1 })).rejects.toThrow(TokenQuotaExceededError)
  })

  it('with shareCounter, an operator overrides an identifier, not a class (a class override would apply to no counter)', async () => {
    const classes: QuotaPolicy = { ...plan, allow: { class: 'plan', counts: { basic: 100, pro: 500 }, shareCounter: true } }
    const { quota, spend } = setup([classes], start)
    const basic = { user: 'alice', subscribedAt: '2020-01-05', plan: 'basic' }
    await expect(quota.admin.set({ policy: 'plan', class: 'basic', allow: 300, by: 'ops' })).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    await quota.admin.set({ policy: 'plan', context: basic, allow: 300, by: 'ops' })
    await spend(basic, 250)
    expect((await quota.status(basic))[0]).toMatchObject({ allowed: 300, used: 250 })
  })

  it('a class table without it keeps a counter per class (Apigee): a change starts the new class at zero', async () => {
    const classes: QuotaPolicy = { ...plan, allow: { class: 'plan', counts: { basic: 100, pro: 500 } } }
    const { quota, spend } = setup([classes], start)
    const basic = { user: 'alice', subscribedAt: '2020-01-05', plan: 'basic' }
    await spend(basic, 90)
    expect((await quota.status({ ...basic, plan: 'pro' }))[0]).toMatchObject({ class: 'pro', allowed: 500, used: 0 })
  })
})
