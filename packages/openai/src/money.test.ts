import {
  createTokenQuota,
  type FallbackEvent,
  priceTable,
  type QuotaPolicy,
  type TokenQuotaOptions,
  UnpricedModelError,
  type UsageEvent,
} from '@tokenquota/core'
import {
  baseURL,
  chatChunks,
  chatCompletion,
  countedPrice,
  createProviderServer,
  embeddingsResponse,
  json,
  responseEvents,
  responseObject,
  sse,
  tablePrice,
  type TokenCounts,
} from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota, type WithTokenQuotaOptions } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const orgMonthly: QuotaPolicy = { name: 'org-monthly-usd', identifier: 'org', count: 'usd', allow: 20, interval: 1, timeUnit: 'month' }
const messages = [{ role: 'user' as const, content: 'Summarise the ticket' }]

function setup(options: { quota?: Partial<TokenQuotaOptions>; wrap?: Partial<WithTokenQuotaOptions> } = {}) {
  const usage: UsageEvent[] = []
  const fallbacks: FallbackEvent[] = []
  const quota = createTokenQuota({
    policies: [orgMonthly],
    on: { usage: (event) => usage.push(event), fallback: (event) => fallbacks.push(event) },
    ...options.quota,
  })
  const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota, ...options.wrap })
  const asAcme = <T>(fn: () => Promise<T>) => quota.withContext({ org: 'acme' }, fn)
  const spent = async () => (await quota.status({ org: 'acme' }))[0]!.used
  return { quota, client, asAcme, spent, usage, fallbacks }
}

/** The table's price of a call with these fixture counts, as the counter holds it. */
const priced = (model: string, counts: TokenCounts) => countedPrice(model, { input: counts.prompt, output: counts.completion, cachedInput: counts.cached })

describe('OpenAI calls on a dollar budget', () => {
  it('chat: charges the table price, cached prompt tokens at the cached rate', async () => {
    const { client, asAcme, spent, usage } = setup()
    const counts = { prompt: 12_000, completion: 300, cached: 10_240 }
    server.reply('/chat/completions', json(chatCompletion({ usage: counts })))
    await asAcme(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 500 }))
    expect(await spent()).toBe(priced('gpt-4o', counts))
    expect(priced('gpt-4o', counts)).toBeLessThan(priced('gpt-4o', { prompt: 12_000, completion: 300 }))
    expect(usage[0]!.cost).toMatchObject({ price: { table: '@pydantic/genai-prices', provider: 'openai', model: 'gpt-4o' } })
  })

  it('a streamed reasoning model: charged from the usage chunk, reasoning tokens at the output rate', async () => {
    const { client, asAcme, spent } = setup()
    const counts = { prompt: 800, completion: 2400, reasoning: 2000 }
    server.reply('/chat/completions', sse(chatChunks({ model: 'o3-mini', includeUsage: true, usage: counts })))
    const stream = await asAcme(() => client.chat.completions.create({ model: 'o3-mini', messages, max_completion_tokens: 4000, stream: true }))
    for await (const _ of stream) {
      // drain
    }
    expect(await spent()).toBe(priced('o3-mini', counts))
  })

  it('the Responses API, plain and streamed', async () => {
    const { client, asAcme, spent } = setup()
    const plain = { prompt: 3000, completion: 120, cached: 2048 }
    server.reply('/responses', json(responseObject({ model: 'gpt-4.1', usage: plain })))
    await asAcme(() => client.responses.create({ model: 'gpt-4.1', input: 'Summarise the ticket', max_output_tokens: 200 }))
    expect(await spent()).toBe(priced('gpt-4.1', plain))

    const streamed = { prompt: 500, completion: 40 }
    server.reply('/responses', sse(responseEvents({ model: 'gpt-4.1', usage: streamed })))
    const stream = await asAcme(() => client.responses.create({ model: 'gpt-4.1', input: 'Summarise the ticket', max_output_tokens: 200, stream: true }))
    for await (const _ of stream) {
      // drain
    }
    expect(await spent()).toBeCloseTo(priced('gpt-4.1', plain) + priced('gpt-4.1', streamed), 9)
  })

  it('an override table prices negotiated rates', async () => {
    const { client, asAcme, spent } = setup({ quota: { prices: [priceTable({ 'gpt-4o': { input: 1, output: 4 } })] } })
    server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 100_000, completion: 10_000 } })))
    await asAcme(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 10_000 }))
    expect(await spent()).toBe(0.14)
  })

  it('an unpriced model is refused before any HTTP request', async () => {
    const { client, asAcme, spent } = setup()
    server.reply('/chat/completions', json(chatCompletion()))
    await expect(asAcme(() => client.chat.completions.create({ model: 'acme-finetune-7b', messages }))).rejects.toThrow(UnpricedModelError)
    expect(server.calls).toHaveLength(0)
    expect(await spent()).toBe(0)
  })

  it('a model the dollars left cannot cover falls back to a cheaper one that fits', async () => {
    const { client, asAcme, spent, fallbacks } = setup({
      quota: { policies: [{ ...orgMonthly, allow: 0.01 }] },
      wrap: { fallback: { 'gpt-4o': 'gpt-4.1-nano' } },
    })
    const counts = { prompt: 2000, completion: 800 }
    server.reply('/chat/completions', json(chatCompletion({ model: 'gpt-4.1-nano', usage: counts })))
    // gpt-4o's bound (≈ 2,000 prompt + 1,000 output tokens) is over $0.01; gpt-4.1-nano's is not.
    await asAcme(() =>
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x '.repeat(1990) }], max_completion_tokens: 1000 }),
    )
    expect(fallbacks).toMatchObject([{ kind: 'model', from: 'gpt-4o', to: 'gpt-4.1-nano', error: { unit: 'usd', policy: 'org-monthly-usd' } }])
    expect(server.calls[0]!.body).toMatchObject({ model: 'gpt-4.1-nano' })
    expect(await spent()).toBe(priced('gpt-4.1-nano', counts))
  })

  it('embeddings are priced under OpenAI (genai-prices finds text-embedding-3-small only there), not refused as unpriced', async () => {
    const { client, asAcme, spent, usage } = setup()
    server.reply('/embeddings', json(embeddingsResponse({ inputs: 2, promptTokens: 12 })))
    const embeddings = await asAcme(() => client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'bonjour'] }))
    expect(embeddings.data).toHaveLength(2)
    expect(usage[0]!.cost).toMatchObject({
      usd: tablePrice('text-embedding-3-small', { input: 12, output: 0 }, { providerId: 'openai' }),
      price: { provider: 'openai', model: 'text-embedding-3-small' },
    })
    expect(await spent()).toBe(countedPrice('text-embedding-3-small', { input: 12, output: 0 }, { providerId: 'openai' }))
  })
})
