import { countedPrice, tablePrice } from '@tokenquota/test-support'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { TokenQuotaOptions } from '../engine/token-quota-options.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { QuotaConfigError, TokenQuotaExceededError, UnpricedModelError } from '../shared/errors.js'
import type { ThresholdEvent, UsageEvent } from '../engine/events.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { litellmPrices } from './litellm-prices.js'
import { priceTable } from './rates-table.js'

const orgMonthly: QuotaPolicy = { name: 'org-monthly-usd', identifier: 'org', count: 'usd', allow: 20, interval: 1, timeUnit: 'month' }

function setup(policies: readonly QuotaPolicy[] = [orgMonthly], options: Partial<TokenQuotaOptions> = {}) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const usage: UsageEvent[] = []
  const quota = createTokenQuota({ policies, now: clock.now, on: { usage: (event) => usage.push(event) }, ...options })
  return { clock, quota, usage }
}

describe("count: 'usd' — priced from @pydantic/genai-prices", () => {
  it('reserves the estimate at the dearest rates and charges the usage at the table price, cached input at its rate', async () => {
    const { quota, usage } = setup()
    const lease = await quota.reserve({ org: 'acme' }, { estimate: { input: 1000, output: 500 }, model: 'gpt-4o' })
    expect(lease.decisions[0]).toMatchObject({ unit: 'usd', allowed: 20, reserved: countedPrice('gpt-4o', { input: 1000, output: 500 }) })

    const real = { input: 1000, cachedInput: 800, output: 200, reasoning: 50 }
    const result = await lease.commit(real)
    const expected = countedPrice('gpt-4o', real)
    expect(expected).toBeLessThan(tablePrice('gpt-4o', { input: 1000, output: 200 })) // the cached rate is cheaper
    expect(result.charges).toEqual([{ policy: 'org-monthly-usd', identifier: 'acme', amount: expected, unit: 'usd' }])
    expect(result.cost).toMatchObject({ usd: tablePrice('gpt-4o', real), price: { table: '@pydantic/genai-prices', provider: 'openai', model: 'gpt-4o' } })
    expect(usage[0]?.cost?.price.pricedAt).toBe('2026-03-14T10:00:00.000Z')
    expect(await quota.status({ org: 'acme' })).toMatchObject([{ unit: 'usd', allowed: 20, used: expected, reserved: 0, available: 20 - expected }])
  })

  it('charges Anthropic cache writes at their own (dearer) rate, and reserves every prompt token at the dearest, the one-hour write', async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ org: 'acme' }, { estimate: { input: 1000, output: 500 }, model: 'claude-sonnet-4-5' })
    const bound = countedPrice('claude-sonnet-4-5', { input: 1000, cacheWrite: 1000, cacheWrite1h: 1000, output: 500 })
    expect(bound).toBeGreaterThan(countedPrice('claude-sonnet-4-5', { input: 1000, cacheWrite: 1000, output: 500 }))
    expect(lease.decisions[0]!.reserved).toBe(bound)
    const real = { input: 1000, cacheWrite: 600, cachedInput: 300, output: 200 }
    const result = await lease.commit(real)
    expect(result.charges[0]!.amount).toBe(countedPrice('claude-sonnet-4-5', real))
    expect(result.cost?.price.provider).toBe('anthropic')
  })

  it('prices a dated snapshot under its family, and Gemini by its own table', async () => {
    const { quota } = setup()
    const snapshot = await (await quota.reserve({ org: 'a' }, { estimate: { input: 10, output: 10 }, model: 'gpt-4o-2024-08-06' })).commit({
      input: 5000,
      output: 100,
    })
    expect(snapshot.charges[0]!.amount).toBe(countedPrice('gpt-4o', { input: 5000, output: 100 }))
    const gemini = await (await quota.reserve({ org: 'a' }, { estimate: { input: 10, output: 10 }, model: 'gemini-2.5-flash' })).commit({
      input: 5000,
      output: 100,
    })
    expect(gemini.charges[0]!.amount).toBe(countedPrice('gemini-2.5-flash', { input: 5000, output: 100 }))
    expect(gemini.cost?.price.provider).toBe('google')
  })

  it('refuses when the priced reservation does not fit the dollars left, and reports dollars', async () => {
    const policy: QuotaPolicy = { ...orgMonthly, allow: 0.01 }
    const { quota } = setup([policy])
    await (await quota.reserve({ org: 'acme' }, { estimate: { input: 10, output: 10 }, model: 'gpt-4o' })).commit({ input: 2000, output: 100 })
    const error = await quota.reserve({ org: 'acme' }, { estimate: { input: 500, output: 300 }, model: 'gpt-4o' }).catch((caught: unknown) => caught)
    if (!TokenQuotaExceededError.isInstance(error)) throw new Error(`expected a refusal, got ${String(error)}`)
    const used = countedPrice('gpt-4o', { input: 2000, output: 100 })
    expect(error).toMatchObject({ unit: 'usd', limit: 0.01, used, requested: countedPrice('gpt-4o', { input: 500, output: 300 }) })
    expect(error.message).toContain(`$${used} used`)
    const headers = error.toHeaders(Date.parse('2026-03-14T10:00:00Z'))
    expect(headers['x-ratelimit-limit-usd']).toBe('0.01')
    expect(Number(headers['x-ratelimit-remaining-usd'])).toBeCloseTo(0.01 - used, 9)
    expect(headers['x-ratelimit-limit-tokens']).toBeUndefined()
    // A cheaper model still fits the same budget.
    await expect(quota.reserve({ org: 'acme' }, { estimate: { input: 500, output: 300 }, model: 'gpt-4.1-nano' })).resolves.toBeDefined()
  })
})

describe('an unpriced model is never free', () => {
  it('is refused with UnpricedModelError before the store is asked', async () => {
    let reserves = 0
    const { quota } = setup()
    const counting = createTokenQuota({
      policies: [orgMonthly],
      store: {
        reserve: () => {
          reserves += 1
          return { ok: true, placements: [], held: [], snapshots: [] }
        },
        settle: () => [],
        extend: () => false,
        read: () => [],
      },
    })
    for (const engine of [quota, counting]) {
      const error = await engine.reserve({ org: 'acme' }, { estimate: 100, model: 'my-llama-70b' }).catch((caught: unknown) => caught)
      expect(UnpricedModelError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ code: 'UnpricedModel', status: 400, model: 'my-llama-70b', policies: ['org-monthly-usd'] })
    }
    await expect(quota.reserve({ org: 'acme' }, { estimate: 100 })).rejects.toThrow(/names no model/)
    expect(reserves).toBe(0)
  })

  it("is charged at the policy's `unpriced` rate when it names one", async () => {
    const { quota } = setup([{ ...orgMonthly, unpriced: { usdPerMillion: 50 } }])
    const result = await (await quota.reserve({ org: 'acme' }, { estimate: 100, model: 'my-llama-70b' })).commit({ input: 1000, output: 1000 })
    expect(result.charges[0]!.amount).toBe(0.1)
    expect(result.cost?.price.table).toBe('unpriced rate of org-monthly-usd')
  })
})

describe('price tables', () => {
  it('an override table wins over the default, by exact name then glob', async () => {
    const { quota } = setup([orgMonthly], {
      prices: [priceTable({ 'gpt-4o': { input: 1, output: 2 }, 'llama-*': { input: 0.2, output: 0.6, cachedInput: 0.1 } })],
    })
    const own = await (await quota.reserve({ org: 'a' }, { estimate: 10, model: 'gpt-4o' })).commit({ input: 1_000_000, output: 1_000_000 })
    expect(own).toMatchObject({ charges: [{ amount: 3 }], cost: { price: { table: 'overrides', model: 'gpt-4o' } } })
    const glob = await (await quota.reserve({ org: 'a' }, { estimate: 10, model: 'llama-3-70b' })).commit({ input: 1_000_000, cachedInput: 500_000, output: 0 })
    expect(glob.charges[0]!.amount).toBe(0.15)
    // Only the listed tables price: the default is not consulted once `prices` is given.
    await expect(quota.reserve({ org: 'a' }, { estimate: 10, model: 'gemini-2.5-flash' })).rejects.toThrow(UnpricedModelError)
  })

  it('an override table prices one-hour cache writes (default: the cache-write rate) and web searches (per thousand; default: free)', async () => {
    const { quota } = setup([orgMonthly], {
      prices: [
        priceTable({
          'claude-custom': { input: 3, output: 15, cacheWrite: 3.75, cacheWrite1h: 6, webSearches: 10 },
          'claude-plain': { input: 3, output: 15, cacheWrite: 3.75 },
        }),
      ],
    })
    const usage = { input: 1_000_000, cacheWrite: 600_000, cacheWrite1h: 400_000, output: 0, webSearches: 5 }
    const custom = await (await quota.reserve({ org: 'a' }, { estimate: 10, model: 'claude-custom' })).commit(usage)
    expect(custom.cost!.usd).toBeCloseTo(0.4 * 3 + 0.2 * 3.75 + 0.4 * 6 + 0.05, 9)
    const plain = await (await quota.reserve({ org: 'a' }, { estimate: 10, model: 'claude-plain' })).commit(usage)
    expect(plain.cost!.usd).toBeCloseTo(0.4 * 3 + 0.6 * 3.75, 9)
    expect(() => priceTable({ x: { input: 1, output: 1, webSearches: -1 } })).toThrow(/per thousand searches/)
  })

  it("loads LiteLLM's model_prices_and_context_window.json, provider-prefixed keys under their bare name too", async () => {
    const json = {
      sample_spec: { max_tokens: 'set to max output tokens', input_cost_per_token: 0, output_cost_per_token: 0 },
      'gpt-4o': { input_cost_per_token: 2.5e-6, output_cost_per_token: 1e-5, cache_read_input_token_cost: 1.25e-6, litellm_provider: 'openai' },
      'openrouter/meta-llama/llama-3-70b': { input_cost_per_token: 5.9e-7, output_cost_per_token: 7.9e-7, litellm_provider: 'openrouter' },
      'dall-e-3': { output_cost_per_image: 0.04, litellm_provider: 'openai' },
      'claude-sonnet-4-5': {
        input_cost_per_token: 3e-6,
        output_cost_per_token: 1.5e-5,
        cache_read_input_token_cost: 3e-7,
        cache_creation_input_token_cost: 3.75e-6,
        cache_creation_input_token_cost_above_1hr: 6e-6,
      },
    }
    const table = litellmPrices(json)
    const at = Date.parse('2026-03-14T00:00:00Z')
    expect(
      table
        .pricing('llama-3-70b', at)
        ?.cost({ input: 1_000_000, output: 1_000_000, total: 2_000_000, cachedInput: 0, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0, webSearches: 0 }),
    ).toBeCloseTo(1.38, 9)
    expect(
      table
        .pricing('gpt-4o', at)
        ?.cost({ input: 1_000_000, output: 0, total: 1_000_000, cachedInput: 1_000_000, cacheWrite: 0, cacheWrite1h: 0, reasoning: 0, webSearches: 0 }),
    ).toBeCloseTo(1.25, 9)
    expect(table.pricing('dall-e-3', at)).toBeUndefined()
    const claude = { input: 1_000_000, output: 0, total: 1_000_000, cachedInput: 200_000, cacheWrite: 400_000, cacheWrite1h: 0, reasoning: 0, webSearches: 0 }
    expect(table.pricing('claude-sonnet-4-5', at)?.cost(claude)).toBeCloseTo(0.4 * 3 + 0.2 * 0.3 + 0.4 * 3.75, 9)
    expect(table.pricing('claude-sonnet-4-5', at)?.cost({ ...claude, cacheWrite1h: 100_000 })).toBeCloseTo(0.4 * 3 + 0.2 * 0.3 + 0.3 * 3.75 + 0.1 * 6, 9)
  })

  it('a table that cannot load fails money reservations with its error, holds nothing, and is tried again on the next call', async () => {
    let loads = 0
    const flaky = {
      name: 'flaky',
      load: async () => {
        loads += 1
        if (loads === 1) throw new QuotaConfigError({ code: 'InvalidConfiguration', field: 'prices', message: 'not installed' })
      },
      pricing: priceTable({ 'gpt-4o': { input: 1, output: 1 } }).pricing,
    }
    const { quota } = setup([orgMonthly], { prices: flaky })
    await expect(quota.reserve({ org: 'acme' }, { estimate: 10, model: 'gpt-4o' })).rejects.toThrow(/not installed/)
    expect(await quota.status({ org: 'acme' })).toMatchObject([{ used: 0, reserved: 0 }])
    await expect(quota.reserve({ org: 'acme' }, { estimate: 10, model: 'gpt-4o' })).resolves.toBeDefined()
    expect(loads).toBe(2)
  })

  it('per-model money policies: only their models are priced and charged', async () => {
    const { quota } = setup([
      { ...orgMonthly, name: 'gpt-4o-usd', models: ['gpt-4o*'] },
      { name: 'org-tokens', identifier: 'org', allow: 1e6, interval: 1, timeUnit: 'day' },
    ])
    const other = await (await quota.reserve({ org: 'acme' }, { estimate: 10, model: 'acme-finetune' })).commit({ input: 100, output: 10 })
    expect(other.charges).toEqual([{ policy: 'org-tokens', identifier: 'acme', amount: 110, unit: 'tokens' }])
    expect(other.cost).toBeUndefined()
    const priced = await (await quota.reserve({ org: 'acme' }, { estimate: 10, model: 'gpt-4o-mini' })).commit({ input: 100, output: 10 })
    expect(priced.charges[0]).toMatchObject({ policy: 'gpt-4o-usd', unit: 'usd', amount: countedPrice('gpt-4o-mini', { input: 100, output: 10 }) })
  })

  it('rejects a malformed table or rate at construction', () => {
    expect(() => priceTable({ 'gpt-4o': { input: -1, output: 2 } })).toThrow(QuotaConfigError)
    expect(() => createTokenQuota({ policies: [orgMonthly], prices: [{} as never] })).toThrow(/price table/)
    expect(() => createTokenQuota({ policies: [{ ...orgMonthly, unpriced: { usdPerMillion: Number.NaN } }] })).toThrow(/unpriced/)
    expect(() => createTokenQuota({ policies: [{ ...orgMonthly, allow: -1 }] })).toThrow(/US dollars/)
    expect(() => createTokenQuota({ policies: [{ ...orgMonthly, maxTokensPerRequest: 100 }] })).toThrow(/maxTokensPerRequest/)
    expect(() => createTokenQuota({ policies: [{ name: 'tokens', allow: 10, interval: 1, timeUnit: 'day', unpriced: { usdPerMillion: 1 } }] })).toThrow(
      /unpriced/,
    )
  })
})

describe('money and token policies together', () => {
  const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 5000, interval: 1, timeUnit: 'day' }

  it('reserve all or nothing: a token refusal holds no dollars, a dollar refusal no tokens', async () => {
    const { quota } = setup([{ ...orgMonthly, allow: 0.02 }, userDaily])
    await expect(quota.reserve({ org: 'acme', user: 'bob' }, { estimate: { input: 4000, output: 2000 }, model: 'gpt-4.1-nano' })).rejects.toThrow(
      TokenQuotaExceededError,
    )
    await expect(quota.reserve({ org: 'acme', user: 'eve' }, { estimate: { input: 3000, output: 2000 }, model: 'gpt-4o' })).rejects.toMatchObject({
      policy: 'org-monthly-usd',
      unit: 'usd',
    })
    expect(await quota.status({ org: 'acme', user: 'bob' })).toMatchObject([
      { name: 'org-monthly-usd', used: 0, reserved: 0 },
      { name: 'user-daily', unit: 'tokens', used: 0, reserved: 0 },
    ])
  })

  it('thresholds and count-only work in dollars', async () => {
    const thresholds: ThresholdEvent[] = []
    const policies: QuotaPolicy[] = [
      { ...orgMonthly, allow: 1, thresholds: [{ at: 0.5, action: 'warn' }] },
      { name: 'shadow-usd', identifier: 'org', count: 'usd', allow: 0, mode: 'count-only', interval: 1, timeUnit: 'day' },
    ]
    const { quota } = setup(policies, { on: { threshold: (event) => thresholds.push(event) } })
    const lease = await quota.reserve({ org: 'acme' }, { estimate: { input: 10, output: 10 }, model: 'gpt-4o' })
    const result = await lease.commit({ input: 100_000, output: 30_000 })
    const cost = countedPrice('gpt-4o', { input: 100_000, output: 30_000 })
    expect(cost).toBeGreaterThan(0.5)
    expect(result.charges).toEqual([
      { policy: 'org-monthly-usd', identifier: 'acme', amount: cost, unit: 'usd' },
      { policy: 'shadow-usd', identifier: 'acme', amount: cost, unit: 'usd' },
    ])
    expect(thresholds).toMatchObject([{ policy: 'org-monthly-usd', unit: 'usd', allowed: 1, used: cost }])
  })
})

describe('no overshoot in dollars', () => {
  it('parallel calls on a dollar budget: the priced usage committed never exceeds `allow`', async () => {
    const models = ['gpt-4o', 'gpt-4.1-nano', 'gpt-4o-mini', 'gemini-2.5-flash'] as const
    const call = fc.record({
      model: fc.constantFrom(...models),
      input: fc.integer({ min: 1, max: 20_000 }),
      output: fc.integer({ min: 1, max: 4000 }),
      used: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(call, { minLength: 5, maxLength: 60 }), async (calls) => {
        const { quota } = setup([{ ...orgMonthly, allow: 0.25 }])
        let priced = 0
        await Promise.all(
          calls.map(async ({ model, input, output, used }) => {
            const lease = await quota.reserve({ org: 'acme' }, { estimate: { input, output }, model }).catch(() => undefined)
            if (!lease) return
            await Promise.resolve()
            const usage = { input: Math.floor(input * used), output: Math.floor(output * used) }
            priced += tablePrice(model, usage)
            await lease.commit(usage)
          }),
        )
        expect(priced).toBeLessThanOrEqual(0.25)
        const [status] = await quota.status({ org: 'acme' })
        expect(status!.used).toBeLessThanOrEqual(0.25)
        expect(status!.used).toBeGreaterThanOrEqual(priced - 1e-9)
      }),
      { numRuns: 60 },
    )
  })
})
