import { countedPrice, tablePrice } from '@tokenquota/test-support'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { MemoryStore } from '../store/memory-store.js'

const orgDaily: QuotaPolicy = { name: 'org-daily-usd', identifier: 'org', count: 'usd', allow: 50, interval: 1, timeUnit: 'day' }
/** The most a charge may differ from the table's price: ten nano-dollars. */
const tolerance = 1e-8

function setup(policies: readonly QuotaPolicy[] = [orgDaily], store = new MemoryStore()) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  return { clock, quota: createTokenQuota({ policies, store, now: clock.now }) }
}

describe('money counters charge within ten nano-dollars of the table price', () => {
  it('a 9.45 µ$ gpt-4o-mini call is charged 9.45 µ$, not a whole 10 µ$', async () => {
    const { quota } = setup()
    const usage = { input: 27, output: 9 }
    expect(tablePrice('gpt-4o-mini', usage, { at: Date.parse('2026-03-14T10:00:00Z') })).toBeCloseTo(9.45e-6, 12)
    const result = await (await quota.reserve({ org: 'acme' }, { estimate: { input: 27, output: 9 }, model: 'gpt-4o-mini' })).commit(usage)
    expect(result.charges[0]!.amount).toBeCloseTo(9.45e-6, 12)
    expect((await quota.status({ org: 'acme' }))[0]!.used).toBeCloseTo(9.45e-6, 12)
  })

  // Found by the property below, widened to calls of hundreds of dollars: 949.7433 $ is
  // 94,974,330,000.00002 units in floating point, more dust than the millionth of a unit that
  // rounding up ignored, and it was charged a unit more (949.74330001 $).
  it('a 949.7433 $ o1-pro call is charged 949.7433 $, not a unit more', async () => {
    const { quota } = setup([{ ...orgDaily, allow: 11_258_999 }])
    const usage = { input: 5_796_898, output: 133_681, cachedInput: 3_180_392 }
    expect(tablePrice('o1-pro', usage, { at: Date.parse('2026-03-14T10:00:00Z') })).toBeCloseTo(949.7433, 9)
    const result = await (await quota.reserve({ org: 'acme' }, { estimate: { input: usage.input, output: usage.output }, model: 'o1-pro' })).commit(usage)
    expect(Math.round(result.charges[0]!.amount * 1e8)).toBe(94_974_330_000)
  })

  it('every charge is at or above the table price and within 10 n$ of it; reservations bound the charge; the counter is the sum of the charges', async () => {
    // o1-pro ($150 / $600 a million) and calls of up to 20 million tokens reach charges of hundreds
    // of dollars, where a dollar's float carries more than a millionth of a unit of dust.
    const models = ['gpt-4o-mini', 'gpt-4.1-nano', 'gpt-4o', 'claude-haiku-4-5', 'gemini-2.5-flash'] as const
    const tokens = (most: number) => fc.oneof(fc.integer({ min: 1, max: most }), fc.integer({ min: 1, max: 20_000_000 }))
    const call = fc.record({
      model: fc.oneof(fc.constantFrom(...models), fc.constant('o1-pro')),
      input: tokens(3000),
      output: fc.oneof(fc.constant(0), tokens(500)),
      cached: fc.double({ min: 0, max: 1, noNaN: true }),
      used: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 20 }), async (calls) => {
        const { quota } = setup([{ ...orgDaily, allow: 11_258_999 }])
        let counted = 0
        for (const { model, input, output, cached, used } of calls) {
          const lease = await quota.reserve({ org: 'acme' }, { estimate: { input, output }, model })
          const usage = { input: Math.ceil(input * used), output: Math.floor(output * used), cachedInput: Math.floor(input * used * cached) }
          const price = tablePrice(model, usage, { at: Date.parse('2026-03-14T10:00:00Z') })
          const { charges } = await lease.commit(usage)
          const charged = charges[0]!.amount
          // The table's price carries floating-point dust, a few ulps of it (22.630439 $ comes as
          // 22.630439000000003): the charge is at or above the price but for that dust, and below
          // a unit more than the price less that dust (a whole number of units is charged exactly).
          const dust = 1e-15 + price * 4 * Number.EPSILON
          expect(charged).toBeGreaterThanOrEqual(price - dust)
          expect(charged - price).toBeLessThan(tolerance - dust)
          expect(lease.decisions[0]!.reserved).toBeGreaterThanOrEqual(charged)
          counted += Math.round(charged * 1e8)
        }
        expect(Math.round((await quota.status({ org: 'acme' }))[0]!.used * 1e8)).toBe(counted)
      }),
      { numRuns: 40 },
    )
  })

  it('a budget of eleven million dollars fits (2^50 units of ten nano-dollars); a larger one is refused at construction', async () => {
    const largest = 11_258_999
    const { quota } = setup([{ ...orgDaily, allow: largest }])
    const lease = await quota.reserve({ org: 'acme' }, { estimate: { input: 1000, output: 100 }, model: 'gpt-4o-mini' })
    await lease.commit({ input: 27, output: 9 })
    const [status] = await quota.status({ org: 'acme' })
    expect(status).toMatchObject({ allowed: largest })
    expect(status!.available).toBeCloseTo(largest - 9.45e-6, 6)
    expect(() => setup([{ ...orgDaily, allow: 11_260_000 }])).toThrow(/US dollars up to 11258999/)
  })

  it('counters are kept apart from those of earlier versions (micro-dollars): a money counter has its own name in the store', async () => {
    const store = new MemoryStore()
    const { quota } = setup([orgDaily], store)
    await (await quota.reserve({ org: 'acme' }, { estimate: { input: 100, output: 10 }, model: 'gpt-4o-mini' })).commit({ input: 100, output: 10 })
    const window = quota.policies[0]!.window(Date.parse('2026-03-14T10:00:00Z'))
    const now = Date.parse('2026-03-14T10:00:00Z')
    const [old] = await store.read({ now, counters: [{ counter: 'org-daily-usd', identifier: '=acme', window }] })
    const [current] = await store.read({ now, counters: [{ counter: quota.policies[0]!.counterName, identifier: '=acme', window }] })
    expect(quota.policies[0]!.counterName).toBe('org-daily-usd#usd-e8')
    expect(old!.used).toBe(0)
    expect(current!.used).toBe(Math.round(countedPrice('gpt-4o-mini', { input: 100, output: 10 }, { at: now }) * 1e8))
  })
})
