import { createOpenAI } from '@ai-sdk/openai'
import { createTokenQuota, TokenQuotaExceededError, type FallbackEvent, type QuotaPolicy } from '@tokenquota/core'
import { abortOnceArrived, baseURL, chatChunks, chatCompletion, createProviderServer, hang, json, sse } from '@tokenquota/test-support'
import { generateObject, generateText, stepCountIs, streamObject, streamText, tool, wrapLanguageModel } from 'ai'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { tokenQuotaMiddleware, type TokenQuotaMiddlewareOptions } from './token-quota-middleware.js'
import { usageOfResult } from './usage.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

// generateObject and streamObject are deprecated in AI SDK 7, and still metered: keep the warning quiet.
beforeEach(() => {
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined)
})

const provider = createOpenAI({ apiKey: 'sk-test', baseURL })
const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }

function setup(policies: QuotaPolicy[] = [userDaily], options: Partial<TokenQuotaMiddlewareOptions> = {}, modelId = 'gpt-4o') {
  const fallbacks: FallbackEvent[] = []
  const quota = createTokenQuota({ policies, on: { fallback: (event) => fallbacks.push(event) } })
  const model = wrapLanguageModel({ model: provider.chat(modelId), middleware: tokenQuotaMiddleware({ quota, ...options }) })
  const asAlice = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
  const used = async (model?: string) => (await quota.status({ user: 'alice' }, { model }))[0]!
  return { quota, model, asAlice, used, fallbacks }
}

describe('tokenQuotaMiddleware', () => {
  it('charges generateText with the usage of the result', async () => {
    const { model, asAlice, used } = setup()
    server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 10 } })))
    const { text } = await asAlice(() => generateText({ model, prompt: 'Say hello', maxOutputTokens: 300, maxRetries: 0 }))
    expect(text).toBe('Hello! How can I assist you today?')
    expect(await used()).toMatchObject({ used: 29, reserved: 0 })
  })

  it('refuses a call that does not fit before any provider request', async () => {
    const { model, asAlice, used } = setup([{ ...userDaily, allow: 200 }])
    const error = await asAlice(() => generateText({ model, prompt: 'Say hello', maxOutputTokens: 300, maxRetries: 0 })).catch((caught: unknown) => caught)
    expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
    expect(server.calls).toHaveLength(0)
    expect(await used()).toMatchObject({ used: 0, reserved: 0 })
  })

  it('charges streamText from the finish part, the same as a plain call', async () => {
    const { model, asAlice, used } = setup()
    server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, usage: { prompt: 19, completion: 7 } })))
    const result = await asAlice(async () => streamText({ model, prompt: 'Say hello', maxRetries: 0 }))
    let text = ''
    for await (const delta of result.textStream) text += delta
    expect(text).toBe('Hello! How can I help?')
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 26, reserved: 0 }))
  })

  it('charges a stream the caller aborts for what it produced', async () => {
    const { model, asAlice, used } = setup()
    server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, words: Array.from({ length: 40 }, () => ' abcd') })))
    const controller = new AbortController()
    const result = await asAlice(async () => streamText({ model, prompt: 'Say hello', maxOutputTokens: 3000, abortSignal: controller.signal, maxRetries: 0 }))
    let seen = 0
    try {
      for await (const _ of result.textStream) if (++seen === 4) controller.abort()
    } catch {
      // the aborted stream may end with an AbortError
    }
    await vi.waitFor(async () => expect((await used()).reserved).toBe(0))
    const charged = (await used()).used
    expect(charged).toBeGreaterThan(4)
    expect(charged).toBeLessThan(4 + 3 + 40)
  })

  it('charges the reservation of calls aborted after they reached the provider', async () => {
    const { model, asAlice, used } = setup()
    server.reply('/chat/completions', hang())
    const drain = async (options: Parameters<typeof streamText>[0]) => {
      for await (const _ of streamText(options).textStream); // an aborted stream ends, or throws
    }
    const held = await abortOnceArrived({
      server,
      held: async () => (await used()).reserved,
      start: (abortSignal, index) => {
        const options = { model, prompt: 'Think hard', maxOutputTokens: 200, abortSignal, maxRetries: 0 }
        return asAlice<unknown>(() => (index % 2 === 0 ? generateText(options) : drain(options)))
      },
    })
    expect(held).toBeGreaterThanOrEqual(5 * 200)
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: held, reserved: 0 }))
  })

  it('charges generateObject and streamObject', async () => {
    const { model, asAlice, used } = setup()
    const schema = z.object({ city: z.string() })
    server.reply('/chat/completions', json(chatCompletion({ content: '{"city":"Paris"}', usage: { prompt: 50, completion: 6 } })))
    const { object } = await asAlice(() => generateObject({ model, schema, prompt: 'A city?', maxRetries: 0 }))
    expect(object).toEqual({ city: 'Paris' })
    expect(await used()).toMatchObject({ used: 56 })
    server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, words: ['{"city"', ':"Rome"}'], usage: { prompt: 50, completion: 5 } })))
    const streamed = await asAlice(async () => streamObject({ model, schema, prompt: 'A city?', maxRetries: 0 }))
    for await (const _ of streamed.partialObjectStream) {
      // the object resolves once the stream has been read
    }
    expect(await streamed.object).toEqual({ city: 'Rome' })
    await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 111, reserved: 0 }))
  })

  it('charges every step of a multi-step tool loop', async () => {
    const { model, asAlice, used } = setup()
    server.reply(
      '/chat/completions',
      json(chatCompletion({ id: 'chatcmpl-tool', toolCall: { name: 'getWeather', arguments: '{"city":"Paris"}' }, usage: { prompt: 80, completion: 15 } })),
      json(chatCompletion({ id: 'chatcmpl-answer', content: 'It is sunny in Paris.', usage: { prompt: 120, completion: 8 } })),
    )
    const { text, steps } = await asAlice(() =>
      generateText({
        model,
        prompt: 'Weather in Paris?',
        tools: {
          getWeather: tool({ description: 'Current weather', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => `sunny in ${city}` }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      }),
    )
    expect(text).toBe('It is sunny in Paris.')
    expect(steps).toHaveLength(2)
    expect(await used()).toMatchObject({ used: 95 + 128, reserved: 0 })
  })

  it('answers with a cheaper model when the wrapped one is refused, charging the one that ran', async () => {
    const perModel: QuotaPolicy[] = [
      { name: 'gpt-4o-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', models: ['gpt-4o'] },
      { name: 'mini-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day', models: ['gpt-4o-mini'] },
    ]
    const { model, asAlice, used, fallbacks } = setup(perModel, { fallback: { 'gpt-4o': provider.chat('gpt-4o-mini') } })
    server.reply('/chat/completions', json(chatCompletion({ model: 'gpt-4o-mini', usage: { prompt: 19, completion: 10 } })))
    const { text } = await asAlice(() => generateText({ model, prompt: 'Say hello', maxOutputTokens: 2000, maxRetries: 0 }))
    expect(text).toBe('Hello! How can I assist you today?')
    expect(server.calls.map((call) => call.body?.model)).toEqual(['gpt-4o-mini'])
    expect(fallbacks.map((event) => `${event.from}→${event.to}`)).toEqual(['gpt-4o→gpt-4o-mini'])
    expect(await used('gpt-4o-mini')).toMatchObject({ name: 'mini-daily', used: 29 })
    expect(await used('gpt-4o')).toMatchObject({ used: 0, reserved: 0 })
  })

  it('releases the reservation when the provider fails', async () => {
    const { model, asAlice, used } = setup()
    server.reply('/chat/completions', json({ error: { message: 'bad request', type: 'invalid_request_error' } }, 400))
    await expect(asAlice(() => generateText({ model, prompt: 'Say hello', maxRetries: 0 }))).rejects.toThrow()
    expect(await used()).toMatchObject({ used: 0, reserved: 0 })
  })
})

describe('usageOfResult', () => {
  it('reads both usage shapes the AI SDK has shipped', () => {
    expect(usageOfResult({ inputTokens: 10, outputTokens: 5, totalTokens: 15, reasoningTokens: 2, cachedInputTokens: 4 })).toEqual({
      input: 10,
      output: 5,
      total: 15,
      reasoning: 2,
      cachedInput: 4,
    })
    expect(usageOfResult({ inputTokens: { total: 10, noCache: 6, cacheRead: 4, cacheWrite: 0 }, outputTokens: { total: 5, text: 3, reasoning: 2 } })).toEqual({
      input: 10,
      output: 5,
      total: 15,
      reasoning: 2,
      cachedInput: 4,
    })
    expect(usageOfResult({ inputTokens: { total: undefined }, outputTokens: { total: undefined } })).toBeUndefined()
    // One count without the other is malformed (NaN), for an estimate to be charged: never 0.
    expect(usageOfResult({ inputTokens: 10, outputTokens: undefined, totalTokens: undefined })).toMatchObject({ input: 10, output: Number.NaN })
    expect(usageOfResult({ inputTokens: { total: undefined }, outputTokens: { total: 5 } })?.input).toBeNaN()
    expect(usageOfResult(undefined)).toBeUndefined()
  })
})
