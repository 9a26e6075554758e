import { GoogleGenAI } from '@google/genai'
import { GoogleGenerativeAI } from '@google/generative-ai'
import { createTokenQuota, type QuotaPolicy, UnpricedModelError } from '@tokenquota/core'
import { countedPrice, createProviderServer, type GeminiCounts, geminiChunks, geminiResponse, json, sse, tablePrice } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const api = (model: string, method: string, version = 'v1beta') => `/${version}/models/${model}:${method}`
const orgMonthly: QuotaPolicy = { name: 'org-monthly-usd', identifier: 'org', count: 'usd', allow: 20, interval: 1, timeUnit: 'month' }

function setup() {
  const quota = createTokenQuota({ policies: [orgMonthly] })
  const asAcme = <T>(fn: () => Promise<T>) => quota.withContext({ org: 'acme' }, fn)
  const spent = async () => (await quota.status({ org: 'acme' }))[0]!.used
  return { quota, asAcme, spent }
}

/** The table's price: thoughts are output tokens, cached prompt tokens a part of the prompt. */
const priced = (model: string, counts: GeminiCounts) =>
  countedPrice(model, { input: counts.prompt, output: counts.candidates + (counts.thoughts ?? 0), cachedInput: counts.cached })

describe('Gemini calls on a dollar budget', () => {
  it('@google/genai generateContent: thinking at the output rate, cached content at its rate', async () => {
    const { quota, asAcme, spent } = setup()
    const counts = { prompt: 40_000, candidates: 300, thoughts: 1200, cached: 32_000 }
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: counts })))
    const ai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota })
    await asAcme(() => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Summarise', config: { maxOutputTokens: 2000 } }))
    expect(await spent()).toBe(priced('gemini-2.5-flash', counts))
  })

  it('@google/generative-ai streamed: the last chunk’s usage, priced; a long prompt at the long-context tier', async () => {
    const { quota, asAcme, spent } = setup()
    const counts = { prompt: 250_000, candidates: 400, thoughts: 600 }
    server.reply(api('gemini-2.5-pro', 'streamGenerateContent'), sse(geminiChunks({ model: 'gemini-2.5-pro', usage: counts }), { done: false }))
    const model = withTokenQuota(new GoogleGenerativeAI('test-key'), { quota }).getGenerativeModel({ model: 'gemini-2.5-pro' })
    const result = await asAcme(() => model.generateContentStream('Summarise'))
    for await (const _ of result.stream) {
      // drain
    }
    await result.response
    const expected = priced('gemini-2.5-pro', counts)
    // Over 200k prompt tokens Gemini 2.5 Pro charges its higher tier: twice the base input rate.
    expect(expected).toBeGreaterThan((250_000 * 1.25 + 1000 * 10) / 1e6)
    await expect.poll(spent).toBe(expected)
  })

  it('an unpriced model is refused before any HTTP request', async () => {
    const { quota, asAcme } = setup()
    const ai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota })
    await expect(asAcme(() => ai.models.generateContent({ model: 'tunedModels/acme-support-bot', contents: 'Hi' }))).rejects.toThrow(UnpricedModelError)
    expect(server.calls).toHaveLength(0)
  })

  it('names Google to the price table: a Gemma model is priced only under it', async () => {
    expect(() => tablePrice('gemma-2-27b-it', { input: 1, output: 1 })).toThrow(/no price/)
    const { quota, asAcme, spent } = setup()
    const counts = { prompt: 4000, candidates: 300 }
    server.reply(api('gemma-2-27b-it', 'generateContent', 'v1'), json(geminiResponse({ usage: counts })))
    const ai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota })
    await asAcme(() => ai.models.generateContent({ model: 'gemma-2-27b-it', contents: 'Summarise', config: { maxOutputTokens: 500 } }))
    expect(await spent()).toBe(countedPrice('gemma-2-27b-it', { input: 4000, output: 300 }, { providerId: 'google' }))
  })
})
