import { describe, expect, it } from 'vitest'
import { TokenQuotaExceededError } from '../shared/errors.js'
import { normalizePolicies } from '../policy/policy-set.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import type { EstimateBound } from '../shared/types.js'
import { Planner } from './planner.js'

const t0 = Date.UTC(2026, 10, 30, 12)
const day = { interval: 1, timeUnit: 'day' } as const
const estimate = (input: number, output: number): EstimateBound => ({ input, output, total: input + output })

function planner(configs: QuotaPolicy[], unmatched: string[] = []) {
  return new Planner({
    policies: normalizePolicies(configs, { unidentified: 'refuse' }),
    shardOf: (context) => (typeof context.org === 'string' ? context.org : undefined),
    onUnmatchedModel: (model) => unmatched.push(model),
    onUnmatchedTool: (tool) => unmatched.push(`tool ${tool}`),
  })
}

/** What a plan's counters say, without the policy objects. */
async function countersOf(configs: QuotaPolicy[], model: string | undefined, bound: EstimateBound) {
  const plan = await planner(configs).plan({ user: 'alice', org: 'acme' }, { kind: 'model', name: model }, t0, bound)
  return plan.counters.map(({ counter, identifier, limit, amount, hold, counting }) => ({ counter, identifier, limit, amount, hold, counting }))
}

describe('Planner.plan', () => {
  it.each<{ name: string; policies: QuotaPolicy[]; model?: string; bound: EstimateBound; counters: object[] }>([
    {
      name: 'one counter per policy, holding the whole estimate',
      policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, ...day }],
      bound: estimate(100, 50),
      counters: [{ counter: 'user-daily', identifier: '=alice', limit: 1000, amount: 150, hold: true, counting: true }],
    },
    {
      name: 'a hierarchy: one counter per level, each with its identifier',
      policies: [
        { name: 'user-daily', identifier: 'user', allow: 1000, ...day },
        { name: 'org-daily', identifier: 'org', allow: 5000, ...day },
      ],
      bound: estimate(10, 5),
      counters: [
        { counter: 'user-daily', identifier: '=alice', limit: 1000, amount: 15, hold: true, counting: true },
        { counter: 'org-daily', identifier: '=acme', limit: 5000, amount: 15, hold: true, counting: true },
      ],
    },
    {
      name: 'policies sharing a counter: one counter, the lowest limit',
      policies: [
        { name: 'a', sharedName: 'shared', identifier: 'user', allow: 1000, ...day },
        { name: 'b', sharedName: 'shared', identifier: 'user', allow: 400, ...day },
      ],
      bound: estimate(10, 5),
      counters: [{ counter: 'shared', identifier: '=alice', limit: 400, amount: 15, hold: true, counting: true }],
    },
    {
      name: 'count: input holds only the prompt',
      policies: [{ name: 'input-daily', identifier: 'user', allow: 1000, count: 'input', ...day }],
      bound: estimate(70, 500),
      counters: [{ counter: 'input-daily', identifier: '=alice', limit: 1000, amount: 70, hold: true, counting: true }],
    },
    {
      name: 'count-only: no limit, still counted',
      policies: [{ name: 'shadow', identifier: 'user', allow: 10, mode: 'count-only', ...day }],
      bound: estimate(70, 5),
      counters: [{ counter: 'shadow', identifier: '=alice', limit: undefined, amount: 75, hold: true, counting: true }],
    },
    {
      name: 'per-model policies: only those matching the model',
      policies: [
        { name: 'pro', identifier: 'user', allow: 100, models: ['gpt-4o'], ...day },
        { name: 'mini', identifier: 'user', allow: 1000, models: ['gpt-4o-mini'], ...day },
      ],
      model: 'gpt-4o-mini',
      bound: estimate(1, 1),
      counters: [{ counter: 'mini', identifier: '=alice', limit: 1000, amount: 2, hold: true, counting: true }],
    },
    {
      name: 'a clamp cap lowers the output held',
      policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, maxTokensPerRequest: { limit: 300, action: 'clamp' }, ...day }],
      bound: estimate(100, 4096),
      counters: [{ counter: 'user-daily', identifier: '=alice', limit: 1000, amount: 300, hold: true, counting: true }],
    },
  ])('$name', async ({ policies, model, bound, counters }) => {
    expect(await countersOf(policies, model, bound)).toEqual(counters)
  })

  it('carries the context, the shard, the model and the clamp into the plan', async () => {
    const plan = await planner([{ name: 'u', identifier: 'user', allow: 1000, maxTokensPerRequest: { limit: 300, action: 'clamp' }, ...day }]).plan(
      { user: 'alice', org: 'acme' },
      { kind: 'model', name: 'gpt-4o' },
      t0,
      estimate(100, 4096),
    )
    expect(plan).toMatchObject({
      context: { user: 'alice', org: 'acme' },
      shard: 'acme',
      model: 'gpt-4o',
      maxOutputTokens: 200,
      requestCap: { policy: 'u', limit: 300 },
    })
  })

  it('refuses a request over a refusing cap before any store call', async () => {
    const refusing = planner([{ name: 'u', identifier: 'user', allow: 1000, maxTokensPerRequest: { limit: 300 }, ...day }])
    expect(() => refusing.plan({ user: 'alice' }, { kind: 'model', name: undefined }, t0, estimate(100, 4096))).toThrow(TokenQuotaExceededError)
  })

  it('is asynchronous only when an allow function is', async () => {
    const sync = planner([{ name: 'u', identifier: 'user', allow: () => 10, ...day }])
    const async = planner([{ name: 'u', identifier: 'user', allow: async () => 10, ...day }])
    expect(sync.plan({ user: 'a' }, { kind: 'model', name: undefined }, t0, estimate(1, 1))).not.toBeInstanceOf(Promise)
    expect(async.plan({ user: 'a' }, { kind: 'model', name: undefined }, t0, estimate(1, 1))).toBeInstanceOf(Promise)
  })

  it('reports a model that no per-model policy matches, once', () => {
    const unmatched: string[] = []
    const perModel = planner([{ name: 'pro', identifier: 'user', allow: 100, models: ['gpt-4o'], ...day }], unmatched)
    perModel.applicable({ kind: 'model', name: 'o3' })
    perModel.applicable({ kind: 'model', name: 'o3' })
    perModel.applicable({ kind: 'model', name: 'gpt-4o' })
    expect(unmatched).toEqual(['o3'])
  })
})

describe('Planner refusals', () => {
  const refusing = planner([
    { name: 'user-daily', identifier: 'user', allow: 100, ...day },
    { name: 'org-daily', identifier: 'org', allow: 1000, ...day },
  ])

  it('finds the counters a request cannot fit even when empty', async () => {
    const plan = await refusing.plan({ user: 'a', org: 'o' }, { kind: 'model', name: undefined }, t0, estimate(150, 0))
    const error = refusing.tooLarge(plan.counters, t0)
    expect(error?.code).toBe('RequestTooLarge')
    expect(error?.violations.map((violation) => violation.policy)).toEqual(['user-daily'])
    expect(
      refusing.tooLarge((await refusing.plan({ user: 'a', org: 'o' }, { kind: 'model', name: undefined }, t0, estimate(50, 0))).counters, t0),
    ).toBeUndefined()
  })

  it("turns a store's refusals into violations, the longest wait first", async () => {
    const plan = await refusing.plan({ user: 'a', org: 'o' }, { kind: 'model', name: undefined }, t0, estimate(50, 0))
    const snapshot = { used: 90, reserved: 0, windowStart: t0, resetAt: t0 + 1000 }
    const error = refusing.refusal(
      plan.counters,
      {
        ok: false,
        refusals: [
          { index: 0, snapshot, retryAt: t0 + 10 },
          { index: 1, snapshot, retryAt: t0 + 500 },
        ],
      },
      t0,
    )
    expect(error.violations.map(({ policy, retryAfterMs, limit, requested }) => ({ policy, retryAfterMs, limit, requested }))).toEqual([
      { policy: 'org-daily', retryAfterMs: 500, limit: 1000, requested: 50 },
      { policy: 'user-daily', retryAfterMs: 10, limit: 100, requested: 50 },
    ])
  })

  it('plans a record without limits or holds, and a check without holds', async () => {
    const plan = await refusing.plan({ user: 'a', org: 'o' }, { kind: 'model', name: undefined }, t0, estimate(50, 0))
    expect(Planner.countingOnly(plan).counters.map(({ limit, amount }) => ({ limit, amount }))).toEqual([
      { limit: undefined, amount: 0 },
      { limit: undefined, amount: 0 },
    ])
    expect(Planner.checkingOnly(plan).counters.every((counter) => !counter.hold)).toBe(true)
  })
})
