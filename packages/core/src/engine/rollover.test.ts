import { describe, expect, it } from 'vitest'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { QuotaConfigError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import { MemoryStore } from '../store/memory-store.js'
import { createFakeClock, type FakeClock } from '../testing/fake-clock.js'
import type { RolloverEvent } from './events.js'
import { createTokenQuota } from './token-quota.js'

// The fake clock's next common year: never today's date.
let year = new Date(createFakeClock().now()).getUTCFullYear() + 1
while (new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1) year += 1

const plan: QuotaPolicy = {
  name: 'plan',
  identifier: 'user',
  allow: 100,
  interval: 1,
  timeUnit: 'month',
  anchor: 'subscribedAt',
  rollover: { into: 'credits', share: 0.5, expiresAfterCycles: 2 },
  spillTo: 'credits',
}
const credits = { name: 'credits', type: 'balance', identifier: 'user' } as unknown as QuotaPolicy
// Subscribed on 5 January: cycles 5 January – 5 February – 5 March – 5 April.
const alice = { user: 'alice', subscribedAt: `${year}-01-05` }

function app(clock: FakeClock, store = new MemoryStore()) {
  const rollovers: RolloverEvent[] = []
  const quota = createTokenQuota({ policies: [plan, credits], store, now: clock.now, on: { rollover: (event) => rollovers.push(event) } })
  const spend = async (context: QuotaContext, total: number) => (await quota.reserve(context, { estimate: total })).commit({ input: total, output: 0, total })
  return { quota, rollovers, spend, store }
}

describe('rollover of an unused allowance into credits', () => {
  it('grants share × unused at the first request of the next cycle, expiring N cycles later, once', async () => {
    const clock = createFakeClock(Date.UTC(year, 0, 10))
    const { quota, rollovers, spend, store } = app(clock)
    await spend(alice, 40)
    // Days into the next cycle: the cycle's own counter is gone from the store by now.
    clock.set(Date.UTC(year, 1, 20))
    await spend(alice, 10)
    const key = `rollover:plan:=alice:${Date.UTC(year, 0, 5)}`
    expect(rollovers).toEqual([
      {
        policy: 'plan',
        identifier: 'alice',
        into: 'credits',
        key,
        cycleStart: Date.UTC(year, 0, 5),
        cycleEnd: Date.UTC(year, 1, 5),
        unused: 60,
        amount: 30,
        expiresAt: Date.UTC(year, 3, 5),
        applied: true,
      },
    ])
    expect(await quota.admin.credits({ policy: 'credits', context: alice })).toMatchObject({
      balance: 30,
      grants: [{ key, amount: 30, expiresAt: Date.UTC(year, 3, 5) }],
    })

    await spend(alice, 10)
    // Another process on the same store tries too: the key credits once.
    const other = app(clock, store)
    await other.spend(alice, 1)
    expect(rollovers).toHaveLength(1)
    expect(other.rollovers.map((event) => event.applied)).toEqual([false])
    expect((await quota.admin.credits({ policy: 'credits', context: alice })).balance).toBe(30)

    clock.set(Date.UTC(year, 3, 5))
    expect((await quota.admin.credits({ policy: 'credits', context: alice })).balance).toBe(0)
  })

  it('the rolled-over credits take what the next cycle’s allowance cannot (spillTo)', async () => {
    const clock = createFakeClock(Date.UTC(year, 0, 10))
    const { quota, spend } = app(clock)
    await spend(alice, 40)
    clock.set(Date.UTC(year, 1, 20))
    await spend(alice, 100) // the new cycle's whole allowance; the 30 credits were granted before it
    const charged = await spend(alice, 30)
    expect(charged.charges.map((charge) => [charge.policy, charge.amount])).toEqual([
      ['plan', 0],
      ['credits', 30],
    ])
    await expect(quota.reserve(alice, { estimate: 1 })).rejects.toMatchObject({ code: 'CreditsExhausted' })
  })

  it('a cycle with no request at all rolls over in full share; a cycle before the subscription rolls over nothing', async () => {
    const clock = createFakeClock(Date.UTC(year, 1, 20))
    const { quota, rollovers, spend } = app(clock)
    await spend(alice, 1)
    expect(rollovers.map((event) => [event.unused, event.amount])).toEqual([[100, 50]])
    // Bob subscribed on 1 February: the cycle before (January) was not his.
    const bob = { user: 'bob', subscribedAt: `${year}-02-01` }
    await spend(bob, 1)
    expect(rollovers).toHaveLength(1)
    expect((await quota.admin.credits({ policy: 'credits', context: bob })).balance).toBe(0)
  })

  it('is checked at construction: anchored policies only, into a balance policy in the same unit', () => {
    const build = (policies: QuotaPolicy[]) => () => createTokenQuota({ policies })
    const own = { ...plan, spillTo: undefined }
    expect(build([own, credits])).not.toThrow()
    expect(build([{ ...own, anchor: undefined }, credits])).toThrow(QuotaConfigError)
    expect(build([{ ...own, anchor: undefined }, credits])).toThrow(/rollover.*anchor/)
    expect(build([own])).toThrow(/rollover.into.*names no policy/)
    expect(build([own, { name: 'credits', allow: 5, interval: 1, timeUnit: 'day' }])).toThrow(/not a balance/)
    expect(build([own, { ...credits, count: 'usd' } as QuotaPolicy])).toThrow(/balance in usd, not in tokens/)
    expect(build([{ ...own, rollover: { into: 'credits', share: 1.5, expiresAfterCycles: 1 } }, credits])).toThrow(/rollover.share/)
    expect(build([{ ...own, rollover: { into: 'credits', share: 0.5, expiresAfterCycles: 0 } }, credits])).toThrow(/rollover.expiresAfterCycles/)
  })
})
