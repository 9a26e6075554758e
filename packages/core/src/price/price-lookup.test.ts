import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { countedPrice, tablePrice } from '@tokenquota/test-support'
import { describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { UnpricedModelError } from '../shared/errors.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { genaiPrices } from './genai-prices.js'

const orgDaily: QuotaPolicy = { name: 'org-daily-usd', identifier: 'org', count: 'usd', allow: 50, interval: 1, timeUnit: 'day' }

function setup(start = '2026-03-14T10:00:00Z') {
  const clock = createFakeClock(start)
  return { clock, quota: createTokenQuota({ policies: [orgDaily], now: clock.now }) }
}

describe('the provider of a call picks its price', () => {
  it('prices OpenAI embeddings when the call names its provider; without one the model stays unpriced', async () => {
    const { quota } = setup()
    await expect(quota.reserve({ org: 'acme' }, { estimate: { input: 8, output: 0 }, model: 'text-embedding-3-small' })).rejects.toThrow(UnpricedModelError)
    const lease = await quota.reserve({ org: 'acme' }, { estimate: { input: 8, output: 0 }, model: 'text-embedding-3-small', provider: 'openai' })
    const result = await lease.commit({ input: 5, output: 0 })
    const at = Date.parse('2026-03-14T10:00:00Z')
    const price = tablePrice('text-embedding-3-small', { input: 5, output: 0 }, { providerId: 'openai', at })
    expect(result.cost).toMatchObject({ usd: price, price: { provider: 'openai', model: 'text-embedding-3-small' } })
    expect(result.charges[0]!.amount).toBe(countedPrice('text-embedding-3-small', { input: 5, output: 0 }, { providerId: 'openai', at }))
    // Count-only records name it too.
    const recorded = await quota.record({ org: 'acme' }, { input: 1000, output: 0 }, { model: 'text-embedding-3-small', provider: 'openai' })
    expect(recorded.cost?.price.provider).toBe('openai')
  })

  it("a model the provider's table lacks (an OpenAI client on DeepSeek's API) is priced by the model alone", async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ org: 'acme' }, { estimate: { input: 100, output: 100 }, model: 'deepseek-chat', provider: 'openai' })
    const result = await lease.commit({ input: 100, output: 100 })
    expect(result.cost?.price.provider).toBe('deepseek')
  })
})

describe('each charge is priced at its own time', () => {
  it("DeepSeek's peak rate applies to a peak call after an off-peak call the same UTC day, and the other way round", async () => {
    const { clock, quota } = setup('2026-03-14T00:10:00Z')
    const usage = { input: 1_000_000, output: 1_000_000 }
    const offPeak = await (await quota.reserve({ org: 'acme' }, { estimate: { input: 10, output: 10 }, model: 'deepseek-chat' })).commit(usage)
    expect(offPeak.cost!.usd).toBeCloseTo(tablePrice('deepseek-chat', usage, { at: clock.now() }), 12)
    clock.set('2026-03-14T10:00:00Z')
    const peakAt = clock.now()
    const peak = await (await quota.reserve({ org: 'acme' }, { estimate: { input: 10, output: 10 }, model: 'deepseek-chat' })).commit(usage)
    expect(tablePrice('deepseek-chat', usage, { at: peakAt })).toBeCloseTo(2 * offPeak.cost!.usd, 9)
    expect(peak.cost!.usd).toBeCloseTo(tablePrice('deepseek-chat', usage, { at: peakAt }), 12)
    expect(peak.cost!.price.pricedAt).toBe('2026-03-14T10:00:00.000Z')
    clock.set('2026-03-14T20:00:00Z')
    const later = await (await quota.reserve({ org: 'acme' }, { estimate: { input: 10, output: 10 }, model: 'deepseek-chat' })).commit(usage)
    expect(later.cost!.usd).toBeCloseTo(offPeak.cost!.usd, 12)
  })
})

describe('a money policy without @pydantic/genai-prices', () => {
  it('is refused when the quota is created, with a typed error that says how to fix it', async () => {
    const script = fileURLToPath(new URL('../../../test-support/src/without-genai-prices.mjs', import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, [script])
    expect(JSON.parse(stdout)).toEqual({
      created: false,
      name: 'QuotaConfigError',
      code: 'InvalidConfiguration',
      field: 'prices',
      message: expect.stringContaining('npm install @pydantic/genai-prices'),
      tokenPoliciesCreated: true,
      moduleGivenCreated: true,
    })
  })

  it('is not checked when the module is passed in', () => {
    expect(() => createTokenQuota({ policies: [orgDaily], prices: genaiPrices({ module: {} }) })).not.toThrow()
  })
})
