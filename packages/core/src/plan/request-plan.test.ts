import { describe, expect, it } from 'vitest'
import { normalizePolicies } from '../policy/policy-set.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { Planner } from './planner.js'
import { type CounterPlan, chargesFor, recordOf, type RequestPlan } from './request-plan.js'

const t0 = Date.UTC(2026, 10, 30, 12)
const day = { interval: 1, timeUnit: 'day' } as const

async function planOf(policies: QuotaPolicy[]): Promise<RequestPlan> {
  const planner = new Planner({
    policies: normalizePolicies(policies, { unidentified: 'refuse' }),
    shardOf: () => undefined,
    onUnmatchedModel: () => undefined,
    onUnmatchedTool: () => undefined,
  })
  return planner.plan({ user: 'alice' }, { kind: 'model', name: 'gpt-4o' }, t0, { input: 100, output: 20, total: 120 })
}

/** The plan with its counters put in one fill group, as a spill-over into credits will plan them. */
function grouped(plan: RequestPlan): RequestPlan {
  return { ...plan, counters: plan.counters.map((counter) => ({ ...counter, group: 'spill' })) }
}

const twoPolicies: QuotaPolicy[] = [
  { name: 'plan', identifier: 'user', allow: 100, ...day },
  { name: 'credits', identifier: 'user', allow: 50, ...day },
]

describe('chargesFor', () => {
  it('returns what the store said it held, not what the plan asked', async () => {
    const plan = await planOf(twoPolicies)
    const charges = chargesFor(plan, [t0, t0], [120, 0], () => 0)
    expect(charges.map(({ held, amount }) => [held, amount])).toEqual([
      [120, 0],
      [0, 0],
    ])
  })

  it.each([
    { real: 120, charged: [100, 20], name: 'the estimate: as held' },
    { real: 90, charged: [90, 0], name: 'less: the first counter first, then the next' },
    { real: 110, charged: [100, 10], name: 'less than the whole hold: spills as the hold did' },
    { real: 150, charged: [100, 50], name: 'more than the whole hold: the excess to the last counter (the balance), never the allowance past its hold' },
  ])('spreads a fill group’s real charge by what each counter held — $name', async ({ real, charged }) => {
    const plan = grouped(await planOf(twoPolicies))
    const charges = chargesFor(plan, [t0, t0], [100, 20], (counter: CounterPlan) => (counter.counter === 'plan' ? real : -1))
    expect(charges.map((charge) => charge.amount)).toEqual(charged)
    expect(charges.map((charge) => charge.held)).toEqual([100, 20])
  })
})

describe('recordOf', () => {
  it('names who, on which policies, for which model, in one line of JSON', async () => {
    const record = recordOf(await planOf(twoPolicies))
    expect(record).not.toContain('\n')
    expect(JSON.parse(record)).toEqual({
      p: [
        ['plan', '=alice'],
        ['credits', '=alice'],
      ],
      m: 'gpt-4o',
    })
  })
})
