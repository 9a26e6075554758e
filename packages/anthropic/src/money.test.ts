import Anthropic from '@anthropic-ai/sdk'
import { createTokenQuota, type QuotaPolicy } from '@tokenquota/core'
import {
  anthropicBaseURL,
  anthropicMessage,
  anthropicStreamEvents,
  countedPrice,
  createProviderServer,
  extractedPrice,
  json,
  sse,
} from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const orgMonthly: QuotaPolicy = { name: 'org-monthly-usd', identifier: 'org', count: 'usd', allow: 50, interval: 1, timeUnit: 'month' }
const model = 'claude-sonnet-4-6'
const messages = [{ role: 'user' as const, content: 'Summarise the attached contract.' }]

function setup() {
  const quota = createTokenQuota({ policies: [orgMonthly] })
  const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), { quota })
  const asAcme = <T>(fn: () => Promise<T>) => quota.withContext({ org: 'acme' }, fn)
  const spent = async () => (await quota.status({ org: 'acme' }))[0]!.used
  return { client, asAcme, spent }
}

describe("count: 'usd' through the Anthropic adapter", () => {
  it('prices cache writes, cache reads and plain input at their own rates, plain or streamed', async () => {
    // Anthropic's `input_tokens` leave the cache's tokens out: the call's prompt is all three.
    const counts = { input: 2000 + 50_000 + 30_000, cacheWrite: 50_000, cachedInput: 30_000, output: 400 }
    const expected = countedPrice(model, counts)
    expect(expected).not.toBe(countedPrice(model, { input: counts.input, output: counts.output }))

    const plain = setup()
    server.reply('/v1/messages', json(anthropicMessage({ model, input: 2000, cacheWrite: 50_000, cacheRead: 30_000, output: 400 })))
    await plain.asAcme(() => plain.client.messages.create({ model, max_tokens: 1024, messages }))
    expect(await plain.spent()).toBe(expected)

    const streamed = setup()
    server.reply(
      '/v1/messages',
      sse(anthropicStreamEvents({ model, usage: { input: 2000, cacheWrite: 50_000, cacheRead: 30_000, output: 400 } }), { done: false }),
    )
    await (await streamed.asAcme(async () => streamed.client.messages.stream({ model, max_tokens: 1024, messages }))).finalMessage()
    expect(await streamed.spent()).toBe(expected)
  })

  it("prices one-hour cache writes at their rate and web searches, as genai-prices' own Anthropic usage extraction does, plain or streamed", async () => {
    const counts = { input: 2000, cacheWrite: 50_000, cacheWrite1h: 40_000, cacheRead: 30_000, output: 400, webSearches: 3 }
    const body = anthropicMessage({ model, ...counts })
    // The reference: the package reads the response itself.
    const reference = extractedPrice('anthropic', body)
    const expected = countedPrice(model, { input: 82_000, cacheWrite: 50_000, cacheWrite1h: 40_000, cachedInput: 30_000, output: 400, webSearches: 3 })
    expect(expected).toBeCloseTo(reference, 7)
    expect(reference).toBeGreaterThan(1.3 * countedPrice(model, { input: 82_000, cacheWrite: 50_000, cachedInput: 30_000, output: 400 }))

    const plain = setup()
    server.reply('/v1/messages', json(body))
    await plain.asAcme(() => plain.client.messages.create({ model, max_tokens: 1024, messages }))
    expect(await plain.spent()).toBe(expected)

    const streamed = setup()
    server.reply('/v1/messages', sse(anthropicStreamEvents({ model, usage: counts, finalUsage: 'full' }), { done: false }))
    await (await streamed.asAcme(async () => streamed.client.messages.stream({ model, max_tokens: 1024, messages }))).finalMessage()
    expect(await streamed.spent()).toBe(expected)
  })
})
