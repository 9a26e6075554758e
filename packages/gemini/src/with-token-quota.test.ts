import { GoogleGenAI } from '@google/genai'
import { GoogleGenerativeAI } from '@google/generative-ai'
import {
  createTokenQuota,
  estimateTokens,
  QuotaConfigError,
  TokenQuotaExceededError,
  type FallbackEvent,
  type QuotaPolicy,
  type WarningEvent,
} from '@tokenquota/core'
import { abortOnceArrived, createProviderServer, geminiChunks, geminiEmbeddings, geminiResponse, hang, json, sse } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { WithTokenQuotaOptions } from './options.js'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

// @google/genai is set to the v1 API (its default differs across its versions), @google/generative-ai calls the v1beta one.
const api = (model: string, method: string, version = 'v1beta') => `/${version}/models/${model}:${method}`
/** Gemini's framing of a one-turn prompt: 4 tokens the turn, 1 its role, 4 to prime the reply. */
const oneTurnFraming = 4 + 1 + 4
const first = 'Embeddings carry no usage, so the estimate is what they cost.'
const second = 'A second text, batched with the first one, is estimated on its own.'
const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }
const perModel: QuotaPolicy[] = [
  { name: 'pro-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', models: ['gemini-2.5-pro'] },
  { name: 'flash-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day', models: ['gemini-2.5-flash'] },
]

function setup(policies: QuotaPolicy[] = [userDaily]) {
  const warnings: WarningEvent[] = []
  const fallbacks: FallbackEvent[] = []
  const quota = createTokenQuota({ policies, on: { warning: (event) => warnings.push(event), fallback: (event) => fallbacks.push(event) } })
  const asAlice = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
  const used = async (model?: string) => (await quota.status({ user: 'alice' }, { model }))[0]!
  return { quota, asAlice, used, warnings, fallbacks }
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of stream) items.push(item)
  return items
}

describe('@google/genai', () => {
  const genai = (quota: ReturnType<typeof setup>['quota'], options: Partial<WithTokenQuotaOptions> = {}) =>
    withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota, ...options })

  it('charges generateContent its totalTokenCount, thinking included', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: { prompt: 5, candidates: 9, thoughts: 34 } })))
    const response = await asAlice(() =>
      genai(quota).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello', config: { maxOutputTokens: 500 } }),
    )
    expect(response.text).toBe('Hello! How can I help you today?')
    expect(await used()).toMatchObject({ used: 48, reserved: 0 })
  })

  it('refuses a call that does not fit without sending it', async () => {
    const { quota, asAlice, used } = setup([{ ...userDaily, allow: 400 }])
    const error = await asAlice(() =>
      genai(quota).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello', config: { maxOutputTokens: 500 } }),
    ).catch((caught: unknown) => caught)
    expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
    expect(server.calls).toHaveLength(0)
    expect(await used()).toMatchObject({ used: 0, reserved: 0 })
  })

  it('charges generateContentStream from its final usage, and the same as a plain call', async () => {
    const { quota, asAlice, used } = setup()
    const ai = genai(quota)
    server.reply(
      api('gemini-2.5-flash', 'streamGenerateContent', 'v1'),
      sse(geminiChunks({ usage: { prompt: 5, candidates: 6, thoughts: 20 } }), { done: false }),
    )
    const chunks = await collect(await asAlice(() => ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hello' })))
    expect(chunks.map((chunk) => chunk.text).join('')).toBe('Hello! How can I help?')
    expect(server.calls[0]!.path).toBe(api('gemini-2.5-flash', 'streamGenerateContent', 'v1'))
    expect(await used()).toMatchObject({ used: 31, reserved: 0 })
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: { prompt: 5, candidates: 6, thoughts: 20 } })))
    await asAlice(() => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello' }))
    expect(await used()).toMatchObject({ used: 62 })
  })

  it('charges a stream the caller breaks off for what it produced', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(
      api('gemini-2.5-flash', 'streamGenerateContent', 'v1'),
      sse(geminiChunks({ words: Array.from({ length: 20 }, () => ' abcd') }), { done: false }),
    )
    const stream = await asAlice(() =>
      genai(quota).models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Say hello', config: { maxOutputTokens: 4000 } }),
    )
    let seen = 0
    for await (const _ of stream) if (++seen === 3) break
    await vi.waitFor(async () => expect((await used()).reserved).toBe(0))
    expect((await used()).used).toBe(oneTurnFraming + estimateTokens('Say hello') + estimateTokens(' abcd abcd abcd'))
  })

  it('meters chats, which call the same models instance', async () => {
    const { quota, asAlice, used } = setup()
    const ai = genai(quota)
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    server.reply(api('gemini-2.5-flash', 'streamGenerateContent', 'v1'), sse(geminiChunks({ usage: { prompt: 20, candidates: 6 } }), { done: false }))
    const chat = ai.chats.create({ model: 'gemini-2.5-flash' })
    const first = await asAlice(() => chat.sendMessage({ message: 'Hello' }))
    expect(first.text).toBe('Hello! How can I help you today?')
    const streamed = await collect(await asAlice(() => chat.sendMessageStream({ message: 'And again' })))
    expect(streamed.map((chunk) => chunk.text).join('')).toBe('Hello! How can I help?')
    expect(await used()).toMatchObject({ used: 14 + 26, reserved: 0 })
  })

  it('charges embedContent its prompt estimate (Gemini reports no usage for embeddings)', async () => {
    const { quota, asAlice, used, warnings } = setup()
    server.reply(api('text-embedding-004', 'batchEmbedContents', 'v1'), json(geminiEmbeddings(2)))
    const result = await asAlice(() => genai(quota).models.embedContent({ model: 'text-embedding-004', contents: [first, second] }))
    expect(result.embeddings).toHaveLength(2)
    expect(await used()).toMatchObject({ used: estimateTokens(first) + estimateTokens(second), reserved: 0 })
    expect(warnings).toEqual([])
  })

  it('counts the prompt exactly with the free countTokens call when asked', async () => {
    const { quota, asAlice } = setup([{ ...userDaily, maxTokensPerRequest: 110 }])
    server.reply(api('gemini-2.5-flash', 'countTokens', 'v1'), json({ totalTokens: 100 }))
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse()))
    const contents = 'short prompt'
    // The heuristic would count 3 tokens and admit 3 + 100; the exact count (100) + 100 is refused.
    await expect(
      asAlice(() => genai(quota, { countTokens: true }).models.generateContent({ model: 'gemini-2.5-flash', contents, config: { maxOutputTokens: 100 } })),
    ).rejects.toMatchObject({ code: 'RequestTooLarge' })
    expect(server.calls.map((call) => call.path)).toEqual([api('gemini-2.5-flash', 'countTokens', 'v1')])
  })

  it('falls back to a cheaper model, or answers with a ready response', async () => {
    const { quota, asAlice, used, fallbacks } = setup(perModel)
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    const ai = genai(quota, { fallback: { 'gemini-2.5-pro': 'gemini-2.5-flash' } })
    await asAlice(() => ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'Say hello', config: { maxOutputTokens: 2000 } }))
    expect(server.calls.map((call) => call.path)).toEqual([api('gemini-2.5-flash', 'generateContent', 'v1')])
    expect(await used('gemini-2.5-flash')).toMatchObject({ name: 'flash-daily', used: 14 })
    expect(fallbacks.map((event) => `${event.from}→${event.to}`)).toEqual(['gemini-2.5-pro→gemini-2.5-flash'])

    const friendly = setup([{ ...userDaily, allow: 10 }])
    const kind = genai(friendly.quota, { fallback: () => ({ response: 'Daily allowance used up.' }) })
    const plain = await friendly.asAlice(() => kind.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' }))
    expect(plain.text).toBe('Daily allowance used up.')
    const streamed = await collect(await friendly.asAlice(() => kind.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hi' })))
    expect(streamed.map((chunk) => chunk.text).join('')).toBe('Daily allowance used up.')
    expect(server.calls).toHaveLength(1)
  })

  it('charges an estimate, never zero, when the response has no usage, and refuses a caller without identity', async () => {
    const { quota, asAlice, used, warnings } = setup()
    const ai = genai(quota)
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: null, text: second })))
    await asAlice(() => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: first }))
    expect(await used()).toMatchObject({ used: oneTurnFraming + estimateTokens(first) + estimateTokens(second), reserved: 0 })
    expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
    await expect(ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' })).rejects.toMatchObject({ code: 'UnresolvedIdentifier' })
    expect(server.calls).toHaveLength(1)
  })

  it('charges the reservation of calls aborted after they reached the API, and releases one aborted before', async () => {
    const { quota, asAlice, used } = setup()
    const ai = genai(quota)
    server.reply(api('gemini-2.5-pro', 'generateContent', 'v1'), hang())
    server.reply(api('gemini-2.5-pro', 'streamGenerateContent', 'v1'), hang())
    const held = await abortOnceArrived({
      server,
      held: async () => (await used()).reserved,
      start: (abortSignal, index) => {
        const params = { model: 'gemini-2.5-pro', contents: 'Think hard', config: { maxOutputTokens: 200, abortSignal } }
        return asAlice<unknown>(() => (index % 2 === 0 ? ai.models.generateContent(params) : ai.models.generateContentStream(params)))
      },
    })
    expect(held).toBeGreaterThanOrEqual(5 * 200)
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: held, reserved: 0 }))
    await expect(
      asAlice(() => ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'Think hard', config: { abortSignal: AbortSignal.abort() } })),
    ).rejects.toThrow()
    expect(server.calls).toHaveLength(5)
    expect(await used()).toMatchObject({ used: held, reserved: 0 })
  })

  it('applies per-model policies to API-style model names, and reserves for every candidate', async () => {
    const { quota, asAlice, used } = setup(perModel)
    const ai = genai(quota)
    const refused = asAlice(() => ai.models.generateContent({ model: 'models/gemini-2.5-pro', contents: 'Say hello', config: { maxOutputTokens: 2000 } }))
    await expect(refused).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    expect(server.calls).toHaveLength(0)
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), hang())
    const controller = new AbortController()
    const call = asAlice(() =>
      ai.models.generateContent({
        model: 'gemini-2.5-flash',
        contents: 'Say hello',
        config: { maxOutputTokens: 100, candidateCount: 8, abortSignal: controller.signal },
      }),
    )
    await server.arrived(1)
    expect((await used('gemini-2.5-flash')).reserved).toBeGreaterThanOrEqual(8 * 100)
    controller.abort()
    await expect(call).rejects.toThrow()
  })

  it('clamps the output cap per candidate to a per-request cap', async () => {
    const { quota, asAlice } = setup([{ ...userDaily, maxTokensPerRequest: { limit: 1000, action: 'clamp' } }])
    server.reply(api('gemini-2.5-flash', 'generateContent', 'v1'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    await asAlice(() =>
      genai(quota).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Say hello', config: { maxOutputTokens: 8000, candidateCount: 4 } }),
    )
    const sent = (server.calls[0]!.body as { generationConfig: { maxOutputTokens: number; candidateCount: number } }).generationConfig
    expect(sent.candidateCount).toBe(4)
    expect(sent.maxOutputTokens * 4).toBeLessThanOrEqual(1000)
    expect(sent.maxOutputTokens).toBeGreaterThan(200)
  })

  it('releases the reservation when the API answers with an error', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(
      api('gemini-2.5-flash', 'generateContent', 'v1'),
      json({ error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT' } }, 400),
    )
    await expect(asAlice(() => genai(quota).models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hi' }))).rejects.toThrow()
    expect(await used()).toMatchObject({ used: 0, reserved: 0 })
  })

  it('refuses to wrap a client twice, or something that is not a Gemini client', () => {
    const { quota } = setup()
    const ai = genai(quota)
    expect(() => withTokenQuota(ai, { quota })).toThrow(/already wrapped/)
    expect(() => withTokenQuota({} as never, { quota })).toThrow(/GoogleGenAI/)
  })
})

describe('@google/generative-ai', () => {
  const client = (quota: ReturnType<typeof setup>['quota'], options: Partial<WithTokenQuotaOptions> = {}) =>
    withTokenQuota(new GoogleGenerativeAI('test-key'), { quota, ...options })

  it('sends the clamped output cap of a per-request cap, and refuses a chat it cannot clamp', async () => {
    const { quota, asAlice, used } = setup([{ ...userDaily, maxTokensPerRequest: { limit: 500, action: 'clamp' } }])
    server.reply(api('gemini-1.5-flash', 'generateContent'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    const model = client(quota).getGenerativeModel({ model: 'gemini-1.5-flash', generationConfig: { maxOutputTokens: 8000, temperature: 0.2 } })
    await asAlice(() => model.generateContent('Say hello'))
    const sent = (server.calls[0]!.body as { generationConfig: { maxOutputTokens: number; temperature: number } }).generationConfig
    expect(sent.maxOutputTokens).toBeLessThanOrEqual(500)
    expect(sent.maxOutputTokens).toBeGreaterThan(400)
    expect(sent.temperature).toBe(0.2)
    const chat = model.startChat()
    await expect(asAlice(() => chat.sendMessage('Say hello'))).rejects.toSatisfy(QuotaConfigError.isInstance)
    expect(server.calls).toHaveLength(1)
    expect(await used()).toMatchObject({ used: 14, reserved: 0 })
  })

  it('charges the reservation of calls aborted after they reached the API', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(api('gemini-1.5-pro', 'generateContent'), hang())
    server.reply(api('gemini-1.5-pro', 'streamGenerateContent'), hang())
    const model = client(quota).getGenerativeModel({ model: 'gemini-1.5-pro', generationConfig: { maxOutputTokens: 200 } })
    const held = await abortOnceArrived({
      server,
      held: async () => (await used()).reserved,
      start: (signal, index) =>
        asAlice<unknown>(() => (index % 2 === 0 ? model.generateContent('Think hard', { signal }) : model.generateContentStream('Think hard', { signal }))),
    })
    expect(held).toBeGreaterThanOrEqual(5 * 200)
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: held, reserved: 0 }))
  })

  it('charges generateContent', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(api('gemini-1.5-flash', 'generateContent'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    const model = client(quota).getGenerativeModel({ model: 'gemini-1.5-flash', generationConfig: { maxOutputTokens: 300 } })
    const { response } = await asAlice(() => model.generateContent('Say hello'))
    expect(response.text()).toBe('Hello! How can I help you today?')
    expect(await used()).toMatchObject({ used: 14, reserved: 0 })
  })

  it('charges generateContentStream from its final usage, whether the caller reads the stream or only the response', async () => {
    const { quota, asAlice, used } = setup()
    const model = client(quota).getGenerativeModel({ model: 'gemini-1.5-flash' })
    server.reply(api('gemini-1.5-flash', 'streamGenerateContent'), sse(geminiChunks({ usage: { prompt: 5, candidates: 6 } }), { done: false }))
    const onlyResponse = await asAlice(() => model.generateContentStream('Say hello'))
    expect((await onlyResponse.response).text()).toBe('Hello! How can I help?')
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 11, reserved: 0 }))
    const onlyStream = await asAlice(() => model.generateContentStream('Say hello'))
    let text = ''
    for await (const chunk of onlyStream.stream) text += chunk.text()
    expect(text).toBe('Hello! How can I help?')
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 22, reserved: 0 }))
  })

  it('meters chats, which do not go through the model methods', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(api('gemini-1.5-flash', 'generateContent'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    server.reply(api('gemini-1.5-flash', 'streamGenerateContent'), sse(geminiChunks({ usage: { prompt: 20, candidates: 6 } }), { done: false }))
    const chat = client(quota)
      .getGenerativeModel({ model: 'gemini-1.5-flash' })
      .startChat({
        history: [
          { role: 'user', parts: [{ text: 'Hi' }] },
          { role: 'model', parts: [{ text: 'Hello' }] },
        ],
      })
    const { response } = await asAlice(() => chat.sendMessage('How are you?'))
    expect(response.text()).toBe('Hello! How can I help you today?')
    const streamed = await asAlice(() => chat.sendMessageStream('Tell me more'))
    await streamed.response
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 14 + 26, reserved: 0 }))
  })

  it('charges embedContent and batchEmbedContents their prompt estimate', async () => {
    const { quota, asAlice, used } = setup()
    server.reply(api('text-embedding-004', 'embedContent'), json({ embedding: { values: [0.1, 0.2] } }))
    server.reply(api('text-embedding-004', 'batchEmbedContents'), json(geminiEmbeddings(2)))
    const model = client(quota).getGenerativeModel({ model: 'text-embedding-004' })
    await asAlice(() => model.embedContent(first))
    await asAlice(() => model.batchEmbedContents({ requests: [{ content: { role: 'user', parts: [{ text: second }] } }] }))
    expect(await used()).toMatchObject({ used: estimateTokens(first) + estimateTokens(second), reserved: 0 })
  })

  it('falls back to a model made with the same parameters, and refuses without sending when nothing fits', async () => {
    const { quota, asAlice, used } = setup(perModel)
    server.reply(api('gemini-2.5-flash', 'generateContent'), json(geminiResponse({ usage: { prompt: 5, candidates: 9 } })))
    const genAI = client(quota, { fallback: { 'gemini-2.5-pro': 'gemini-2.5-flash' } })
    const model = genAI.getGenerativeModel({ model: 'gemini-2.5-pro', generationConfig: { maxOutputTokens: 2000 } })
    const { response } = await asAlice(() => model.generateContent('Say hello'))
    expect(response.text()).toBe('Hello! How can I help you today?')
    expect(server.calls.map((call) => call.path)).toEqual([api('gemini-2.5-flash', 'generateContent')])
    expect(await used('gemini-2.5-flash')).toMatchObject({ used: 14 })

    const strict = setup(perModel)
    const refused = await strict
      .asAlice(() =>
        client(strict.quota)
          .getGenerativeModel({ model: 'gemini-2.5-pro', generationConfig: { maxOutputTokens: 2000 } })
          .generateContent('Hi'),
      )
      .catch((caught: unknown) => caught)
    expect(TokenQuotaExceededError.isInstance(refused)).toBe(true)
    expect(server.calls).toHaveLength(1)
  })
})
