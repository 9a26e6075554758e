import { createOpenAI } from '@ai-sdk/openai'
import { createTokenQuota, priceTable, type QuotaPolicy, UnpricedModelError } from '@tokenquota/core'
import { baseURL, chatChunks, chatCompletion, countedPrice, createProviderServer, json, sse, tablePrice, type TokenCounts } from '@tokenquota/test-support'
import { generateText, streamText, wrapLanguageModel } from 'ai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenQuotaMiddleware } from './token-quota-middleware.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const provider = createOpenAI({ apiKey: 'sk-test', baseURL })
const orgMonthly: QuotaPolicy = { name: 'org-monthly-usd', identifier: 'org', count: 'usd', allow: 20, interval: 1, timeUnit: 'month' }
const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }

function setup(modelId: string, prices?: Parameters<typeof createTokenQuota>[0]['prices']) {
  const quota = createTokenQuota({ policies: [orgMonthly, userDaily], prices })
  const model = wrapLanguageModel({ model: provider.chat(modelId), middleware: tokenQuotaMiddleware({ quota }) })
  const asAlice = <T>(fn: () => Promise<T>) => quota.withContext({ org: 'acme', user: 'alice' }, fn)
  const status = async () => quota.status({ org: 'acme', user: 'alice' })
  return { model, asAlice, status }
}

/** The table's price of a call with these fixture counts, as the counter holds it. */
const priced = (model: string, counts: TokenCounts) => countedPrice(model, { input: counts.prompt, output: counts.completion, cachedInput: counts.cached })

describe('AI SDK calls on a dollar budget beside a token budget', () => {
  it('generateText: dollars from the table and tokens from the usage, both charged', async () => {
    const { model, asAlice, status } = setup('gpt-4o-mini')
    const counts = { prompt: 9000, completion: 700, cached: 8192 }
    server.reply('/chat/completions', json(chatCompletion({ model: 'gpt-4o-mini', usage: counts })))
    await asAlice(() => generateText({ model, prompt: 'Summarise', maxOutputTokens: 1000, maxRetries: 0 }))
    expect(await status()).toMatchObject([
      { name: 'org-monthly-usd', unit: 'usd', used: priced('gpt-4o-mini', counts), reserved: 0 },
      { name: 'user-daily', unit: 'tokens', used: 9700, reserved: 0 },
    ])
  })

  it('streamText: charged from the finish part, at an override price', async () => {
    const { model, asAlice, status } = setup('gpt-4o', [priceTable({ 'gpt-4o': { input: 2, output: 8 } })])
    server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, usage: { prompt: 50_000, completion: 5000 } })))
    const result = await asAlice(async () => streamText({ model, prompt: 'Summarise', maxOutputTokens: 6000, maxRetries: 0 }))
    await result.consumeStream()
    expect((await status())[0]).toMatchObject({ used: 0.14, reserved: 0 })
  })

  it('an unpriced model is refused before any HTTP request, and holds no tokens', async () => {
    const { model, asAlice, status } = setup('acme-finetune-7b')
    await expect(asAlice(() => generateText({ model, prompt: 'Hi', maxRetries: 0 }))).rejects.toThrow(UnpricedModelError)
    expect(server.calls).toHaveLength(0)
    expect(await status()).toMatchObject([{ reserved: 0 }, { reserved: 0, used: 0 }])
  })

  it("names the model's provider to the price table: chatgpt-4o-latest is priced only under OpenAI", async () => {
    expect(() => tablePrice('chatgpt-4o-latest', { input: 1, output: 1 })).toThrow(/no price/)
    const { model, asAlice, status } = setup('chatgpt-4o-latest')
    const counts = { prompt: 900, completion: 70 }
    server.reply('/chat/completions', json(chatCompletion({ model: 'chatgpt-4o-latest', usage: counts })))
    await asAlice(() => generateText({ model, prompt: 'Summarise', maxOutputTokens: 100, maxRetries: 0 }))
    const expected = countedPrice('chatgpt-4o-latest', { input: 900, output: 70 }, { providerId: 'openai' })
    expect((await status())[0]).toMatchObject({ name: 'org-monthly-usd', used: expected, reserved: 0 })
  })
})
