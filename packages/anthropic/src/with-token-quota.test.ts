import Anthropic from '@anthropic-ai/sdk'
import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema'
import {
  createTokenQuota,
  type FallbackEvent,
  type QuotaPolicy,
  TokenQuotaExceededError,
  type TokenQuotaOptions,
  type WarningEvent,
  type WindowedQuotaPolicy,
} from '@tokenquota/core'
import {
  anthropicBaseURL,
  anthropicMessage,
  anthropicStreamEvents,
  anthropicToolUse,
  createProviderServer,
  hang,
  json,
  sse,
  startResettingServer,
} from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { WithTokenQuotaOptions } from './options.js'
import { anthropicEstimator } from './prompt.js'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const userDaily: WindowedQuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }
const model = 'claude-sonnet-4-6'
const messages = [{ role: 'user' as const, content: 'Say hello' }]
/** The Anthropic framing of one user turn: 7 tokens, 1 for the role, 3 to prime the reply. */
const promptEstimate = 7 + 1 + 3 + anthropicEstimator('Say hello')
const errorBody = (type: string, message: string) => ({ type: 'error', error: { type, message } })

// The suite runs on each SDK version of the matrix (vitest.config.ts); types are those of the newest.
describe('withTokenQuota(new Anthropic())', () => {
  function setup(
    options: {
      policies?: QuotaPolicy[]
      quota?: Partial<TokenQuotaOptions>
      wrap?: Partial<WithTokenQuotaOptions>
      maxRetries?: number
      timeout?: number
    } = {},
  ) {
    const warnings: WarningEvent[] = []
    const fallbacks: FallbackEvent[] = []
    const quota = createTokenQuota({
      policies: options.policies ?? [userDaily],
      on: { warning: (event) => warnings.push(event), fallback: (event) => fallbacks.push(event) },
      ...options.quota,
    })
    const raw = new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: options.maxRetries ?? 0, timeout: options.timeout })
    const client = withTokenQuota(raw, { quota, ...options.wrap })
    const asAlice = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
    const used = async (user = 'alice') => (await quota.status({ user }))[0]!
    return { quota, raw, client, asAlice, used, warnings, fallbacks }
  }

  /** What a call reserves: the `requested` of its refusal by a 1-token budget (nothing is sent). */
  async function reservationOf(params: Anthropic.MessageCreateParamsNonStreaming, wrap: Partial<WithTokenQuotaOptions> = {}): Promise<number> {
    const { client, asAlice } = setup({ policies: [{ ...userDaily, allow: 1 }], wrap })
    const error = await asAlice(() => client.messages.create(params)).catch((caught: unknown) => caught)
    if (!TokenQuotaExceededError.isInstance(error)) throw new Error(`expected a refusal, got ${String(error)}`)
    return error.requested
  }

  describe('messages.create', () => {
    it('reserves the prompt and max_tokens before the call, and charges input, cache reads and writes, and output', async () => {
      const { client, asAlice, used } = setup()
      expect(await reservationOf({ model, max_tokens: 500, messages })).toBe(promptEstimate + 500)
      server.reply('/v1/messages', json(anthropicMessage({ input: 12, cacheWrite: 300, cacheRead: 2000, output: 9 })))
      const message = await asAlice(() => client.messages.create({ model, max_tokens: 500, messages }))
      expect(message.content).toEqual([{ type: 'text', text: 'Hello! How can I help you today?' }])
      // Sent once: the metered body reads like the real one (SDK 1.17 checks `body?.locked` before `json()`).
      expect(server.calls).toHaveLength(1)
      expect(await used()).toMatchObject({ used: 12 + 300 + 2000 + 9, reserved: 0 })
    })

    it('refuses a call that does not fit without sending it', async () => {
      const { client, asAlice } = setup({ policies: [{ ...userDaily, allow: promptEstimate + 499 }] })
      server.reply('/v1/messages', json(anthropicMessage()))
      const error = await asAlice(() => client.messages.create({ model, max_tokens: 500, messages })).catch((caught: unknown) => caught)
      expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ policy: 'user-daily', identifier: 'alice', requested: promptEstimate + 500 })
      expect(server.calls).toHaveLength(0)
    })

    it('charges an estimate, never zero, when usage is missing, and says so', async () => {
      const { client, asAlice, used, warnings } = setup()
      server.reply('/v1/messages', json(anthropicMessage({ text: 'Hi there', usage: null })))
      await asAlice(() => client.messages.create({ model, max_tokens: 500, messages }))
      expect(await used()).toMatchObject({ used: promptEstimate + anthropicEstimator('Hi there') })
      expect(warnings.map((warning) => warning.code)).toContain('UsageMissing')
    })

    it('releases the reservation when Anthropic answers with an error, and charges a retried call once', async () => {
      const failing = setup()
      server.reply('/v1/messages', json(errorBody('invalid_request_error', 'max_tokens: Field required'), 400))
      await expect(failing.asAlice(() => failing.client.messages.create({ model, max_tokens: 500, messages }))).rejects.toThrow(/Field required/)
      expect(await failing.used()).toMatchObject({ used: 0, reserved: 0 })

      const retried = setup({ maxRetries: 2 })
      server.reply(
        '/v1/messages',
        json(errorBody('overloaded_error', 'Overloaded'), 529, { 'retry-after-ms': '1' }),
        json(anthropicMessage({ input: 12, output: 9 })),
      )
      await retried.asAlice(() => retried.client.messages.create({ model, max_tokens: 500, messages }))
      expect(server.calls.filter((call) => call.path === '/v1/messages')).toHaveLength(3)
      expect(await retried.used()).toMatchObject({ used: 21, reserved: 0 })
    })

    it('charges the reservation of a call aborted after it reached Anthropic, and releases one aborted before', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/v1/messages', hang())
      const controller = new AbortController()
      const pending = asAlice(() => client.messages.create({ model, max_tokens: 500, messages }, { signal: controller.signal }))
      await server.arrived(1)
      controller.abort()
      await expect(pending).rejects.toThrow()
      expect(await used()).toMatchObject({ used: promptEstimate + 500, reserved: 0 })

      const early = new AbortController()
      early.abort()
      await expect(asAlice(() => client.messages.create({ model, max_tokens: 500, messages }, { signal: early.signal }))).rejects.toThrow()
      expect(await used()).toMatchObject({ used: promptEstimate + 500, reserved: 0 })
    })

    it("charges the reservation, once, of a call that outlives the SDK's timeout after reaching Anthropic, retries included", async () => {
      const { client, asAlice, used } = setup({ maxRetries: 2, timeout: 1000 })
      server.reply('/v1/messages', hang())
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
      try {
        const pending = asAlice(() => client.messages.create({ model, max_tokens: 500, messages })).catch((caught: unknown) => caught)
        for (let attempt = 1; attempt <= 3; attempt++) {
          await server.arrived(attempt)
          await vi.advanceTimersByTimeAsync(1000 + 30_000) // the timeout, then the retry back-off
        }
        expect(await pending).toBeInstanceOf(Anthropic.APIConnectionTimeoutError)
      } finally {
        vi.useRealTimers()
      }
      expect(server.calls).toHaveLength(3)
      expect(await used()).toMatchObject({ used: promptEstimate + 500, reserved: 0 })
    })

    it('lowers max_tokens to a per-request cap, and a thinking budget with it (or turns thinking off when no room is left)', async () => {
      const { client, asAlice } = setup({ policies: [{ ...userDaily, maxTokensPerRequest: { limit: promptEstimate + 2000, action: 'clamp' } }] })
      server.reply('/v1/messages', json(anthropicMessage()))
      await asAlice(() => client.messages.create({ model, max_tokens: 16_000, thinking: { type: 'enabled', budget_tokens: 10_000 }, messages }))
      expect(server.calls[0]!.body).toMatchObject({ max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1999 } })

      const tight = setup({ policies: [{ ...userDaily, maxTokensPerRequest: { limit: promptEstimate + 800, action: 'clamp' } }] })
      await tight.asAlice(() => tight.client.messages.create({ model, max_tokens: 16_000, thinking: { type: 'enabled', budget_tokens: 10_000 }, messages }))
      expect(server.calls[1]!.body).toMatchObject({ max_tokens: 800, thinking: { type: 'disabled' } })
    })

    it('estimates every part of a tool-use conversation: tools, tool calls, tool results, system', async () => {
      const tools = [
        { name: 'get_weather', description: 'The weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } } } },
      ]
      const result = JSON.stringify({ city: 'Paris', forecast: [{ day: 'mon', high: 21, low: 12, rain_mm: 0.4 }], station: 'LFPG-7f3c9a2e' })
      const { client, asAlice, used } = setup()
      server.reply(
        '/v1/messages',
        json(anthropicMessage({ content: [anthropicToolUse('get_weather', { city: 'Paris' })], input: 400, output: 30 })),
        json(anthropicMessage()),
      )
      const first = await asAlice(() => client.messages.create({ model, max_tokens: 100, system: 'You are terse.', tools, messages }))
      const toolResult = { type: 'tool_result' as const, tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: result }
      const second = {
        model,
        max_tokens: 100,
        system: 'You are terse.',
        tools,
        messages: [...messages, { role: 'assistant' as const, content: first.content }, { role: 'user' as const, content: [toolResult] }],
      }
      await asAlice(() => client.messages.create(second))
      expect(await used()).toMatchObject({ used: 430 + 21, reserved: 0 })

      const system = anthropicEstimator('You are terse.')
      const toolTokens = 346 + 4 + anthropicEstimator(JSON.stringify(tools[0]))
      const firstReserved = await reservationOf({ model, max_tokens: 100, system: 'You are terse.', tools, messages })
      expect(firstReserved).toBe(promptEstimate + system + toolTokens + 100)
      const secondTurns = 2 * (7 + 1) + anthropicEstimator('get_weather') + anthropicEstimator(JSON.stringify({ city: 'Paris' })) + anthropicEstimator(result)
      expect(await reservationOf(second)).toBe(firstReserved + secondTurns)
    })
  })

  describe('streams', () => {
    it('charges a streamed call from message_start and the final message_delta, whichever shape its usage has', async () => {
      for (const finalUsage of ['output', 'full'] as const) {
        const { client, asAlice, used } = setup()
        server.reply('/v1/messages', sse(anthropicStreamEvents({ usage: { input: 25, cacheRead: 1000, output: 15 }, finalUsage }), { done: false }))
        const stream = await asAlice(() => client.messages.create({ model, max_tokens: 500, messages, stream: true }))
        let text = ''
        for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text
        expect(text).toBe('Hello! How can I help?')
        expect(await used()).toMatchObject({ used: 25 + 1000 + 15, reserved: 0 })
      }
    })

    it('meters messages.stream(): the final message, thinking included', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/v1/messages', sse(anthropicStreamEvents({ thinking: ['Let me think', ' about it.'], usage: { input: 25, output: 80 } }), { done: false }))
      const stream = asAlice(async () => client.messages.stream({ model, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, messages }))
      const message = await (await stream).finalMessage()
      expect(message.content.map((block) => block.type)).toEqual(['thinking', 'text'])
      expect(await used()).toMatchObject({ used: 25 + 80, reserved: 0 })
    })

    it('charges a stream the caller aborts for the prompt Anthropic counted and the output so far, not the reservation', async () => {
      const { client, asAlice, used } = setup({ wrap: { estimator: (text) => text.length } })
      server.reply(
        '/v1/messages',
        sse(anthropicStreamEvents({ words: ['Hello', ' there', ' friend'], usage: { input: 25, cacheWrite: 40, output: 15 } }), { done: false }),
      )
      const stream = await asAlice(async () => client.messages.stream({ model, max_tokens: 500, messages }))
      await new Promise<void>((resolve) => stream.on('text', (delta) => delta === 'Hello' && resolve()))
      stream.abort()
      await stream.done().catch(() => undefined)
      const charged = (await used()).used
      // The prompt as message_start counted it (cache write included) and at least the text that arrived.
      expect(charged).toBeGreaterThanOrEqual(25 + 40 + 'Hello'.length)
      expect(charged).toBeLessThanOrEqual(25 + 40 + 'Hello there friend'.length)
      expect(await used()).toMatchObject({ reserved: 0 })
    })

    it("keeps message_start's cache split when a stream stops, or ends, before message_delta", async () => {
      // Weighted like Anthropic's prices: a cached prompt costs a tenth of a plain one.
      const weighted: QuotaPolicy = { ...userDaily, count: { input: 1, cacheWrite: 1.25, cachedInput: 0.1, output: 5 } }
      const usage = { input: 25, cacheWrite: 400, cacheRead: 10_000, output: 15 }
      const prompt = 25 + 1.25 * 400 + 0.1 * 10_000
      for (const ending of ['stop', 'end'] as const) {
        const { client, asAlice, used } = setup({ policies: [weighted], wrap: { estimator: (text) => text.length } })
        const finalUsage = ending === 'end' ? 'none' : 'output'
        server.reply('/v1/messages', sse(anthropicStreamEvents({ words: ['Hello', ' there'], usage, finalUsage }), { done: false }))
        const stream = await asAlice(async () => client.messages.stream({ model, max_tokens: 500, messages }))
        if (ending === 'stop') {
          await new Promise<void>((resolve) => stream.on('text', (delta) => delta === 'Hello' && resolve()))
          stream.abort()
        }
        await stream.done().catch(() => undefined)
        const charged = (await used()).used
        expect(charged, ending).toBeGreaterThanOrEqual(prompt + 5 * 'Hello'.length)
        expect(charged, ending).toBeLessThanOrEqual(Math.ceil(prompt + 5 * 'Hello there'.length))
      }
    })

    it('charges what arrived when the connection breaks mid-stream', async () => {
      // message_start, ping, content_block_start, two deltas; then the connection resets.
      const upstream = await startResettingServer(
        anthropicStreamEvents({ words: ['Hello', ' there', ' friend'], usage: { input: 25, output: 15 } }).slice(0, 5),
      )
      try {
        const { quota, asAlice, used } = setup()
        const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: upstream.origin, maxRetries: 0 }), {
          quota,
          estimator: (text) => text.length,
        })
        const stream = await asAlice(() => client.messages.create({ model, max_tokens: 500, messages, stream: true }))
        await expect(
          (async () => {
            for await (const _ of stream);
          })(),
        ).rejects.toThrow()
        await vi.waitFor(async () => expect((await used()).reserved).toBe(0))
        expect(await used()).toMatchObject({ used: 25 + 'Hello there'.length })
      } finally {
        upstream.close()
      }
    })

    it('charges an estimate over the counted prompt when a stream ends without its usage', async () => {
      const { client, asAlice, used, warnings } = setup({ wrap: { estimator: (text) => text.length } })
      server.reply('/v1/messages', sse(anthropicStreamEvents({ words: ['abc', 'def'], usage: { input: 25, output: 15 }, finalUsage: 'none' }), { done: false }))
      const stream = await asAlice(() => client.messages.create({ model, max_tokens: 500, messages, stream: true }))
      for await (const _ of stream);
      expect(await used()).toMatchObject({ used: 25 + 6 })
      expect(warnings.map((warning) => warning.code)).toContain('UsageMissing')
    })

    it('charges a stream and a plain call of the same answer the same', async () => {
      const plain = setup()
      server.reply('/v1/messages', json(anthropicMessage({ input: 25, cacheRead: 100, output: 15 })))
      await plain.asAlice(() => plain.client.messages.create({ model, max_tokens: 500, messages }))
      const streamed = setup()
      server.reply('/v1/messages', sse(anthropicStreamEvents({ usage: { input: 25, cacheRead: 100, output: 15 } }), { done: false }))
      await (await streamed.asAlice(async () => streamed.client.messages.stream({ model, max_tokens: 500, messages }))).finalMessage()
      expect((await streamed.used()).used).toBe((await plain.used()).used)
    })
  })

  describe('helpers, beta and exact counts', () => {
    it('meters messages.parse and beta.messages.create', async () => {
      // The SDK's JSON Schema helper, not its zod one: SDK 0.72's expects zod 4 under the name `zod`.
      const answerSchema = { type: 'object', properties: { answer: { type: 'number' } }, required: ['answer'], additionalProperties: false } as const
      const { client, asAlice, used } = setup()
      server.reply('/v1/messages', json(anthropicMessage({ text: '{"answer":4}', input: 30, output: 6 })))
      const parsed = await asAlice(() =>
        client.messages.parse({ model, max_tokens: 100, messages, output_config: { format: jsonSchemaOutputFormat(answerSchema) } }),
      )
      expect(parsed.parsed_output).toEqual({ answer: 4 })
      expect(await used()).toMatchObject({ used: 36 })
      await asAlice(() => client.beta.messages.create({ model, max_tokens: 100, messages, betas: ['context-management-2025-06-27'] }))
      expect(await used()).toMatchObject({ used: 72 })
    })

    it('counts the prompt with messages.countTokens when asked, and falls back to the estimate when the count fails', async () => {
      server.reply('/v1/messages/count_tokens', json({ input_tokens: 1234 }))
      expect(await reservationOf({ model, max_tokens: 100, messages, metadata: { user_id: 'u1' } }, { countTokens: true })).toBe(1234 + 100)
      expect(server.calls.map((call) => [call.path, call.body])).toEqual([['/v1/messages/count_tokens', { model, messages }]])

      const { client, asAlice, used, warnings } = setup({ wrap: { countTokens: true } })
      server.reply('/v1/messages/count_tokens', json(errorBody('rate_limit_error', 'Too many requests'), 429))
      server.reply('/v1/messages', json(anthropicMessage({ input: 12, output: 9 })))
      await asAlice(() => client.messages.create({ model, max_tokens: 100, messages }))
      expect(await used()).toMatchObject({ used: 21 })
      expect(warnings.map((warning) => warning.code)).toContain('CountTokensFailed')
      expect(await reservationOf({ model, max_tokens: 100, messages })).toBe(promptEstimate + 100)
    })

    it('passes other calls through untouched and unmetered', async () => {
      const { client, asAlice, used } = setup()
      server.reply(
        '/v1/models',
        json({ data: [{ type: 'model', id: model, display_name: 'Claude Sonnet 4.6', created_at: '2025-09-29T00:00:00Z' }], has_more: false }),
      )
      const page = await asAlice(() => client.models.list())
      expect(page.data[0]!.id).toBe(model)
      expect(await used()).toMatchObject({ used: 0, reserved: 0 })
    })
  })

  describe('fallback', () => {
    const tight = [{ ...userDaily, name: 'opus-daily', models: ['claude-opus-*'], allow: 10 }, userDaily]

    it('sends a cheaper model when the requested one is refused, and charges it', async () => {
      const { client, asAlice, fallbacks } = setup({ policies: tight, wrap: { fallback: { 'claude-opus-4-8': 'claude-haiku-4-5' } } })
      server.reply('/v1/messages', json(anthropicMessage({ model: 'claude-haiku-4-5' })))
      await asAlice(() => client.messages.create({ model: 'claude-opus-4-8', max_tokens: 100, messages }))
      expect(server.calls[0]!.body).toMatchObject({ model: 'claude-haiku-4-5' })
      expect(fallbacks).toMatchObject([{ kind: 'model', from: 'claude-opus-4-8', to: 'claude-haiku-4-5' }])
    })

    it("answers with a ready response in Anthropic's shape, plain or streamed, without calling or charging", async () => {
      const { client, asAlice, used } = setup({ policies: [{ ...userDaily, allow: 10 }], wrap: { fallback: () => ({ response: 'Busy, try later.' }) } })
      const message = await asAlice(() => client.messages.create({ model, max_tokens: 100, messages }))
      expect(message).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Busy, try later.' }], usage: { input_tokens: 0 } })
      const stream = await asAlice(async () => client.messages.stream({ model, max_tokens: 100, messages }))
      expect(await stream.finalText()).toBe('Busy, try later.')
      expect(server.calls).toHaveLength(0)
      expect(await used()).toMatchObject({ used: 0, reserved: 0 })
    })
  })

  describe('the wrapped client', () => {
    it('is a client of the same class, the original stays unmetered, and it cannot be wrapped twice', async () => {
      const { raw, client, asAlice, used } = setup()
      expect(client).toBeInstanceOf(Anthropic)
      expect(client).not.toBe(raw)
      server.reply('/v1/messages', json(anthropicMessage()))
      await asAlice(() => raw.messages.create({ model, max_tokens: 100, messages }))
      expect(await used()).toMatchObject({ used: 0 })
      expect(() => withTokenQuota(client, { quota: createTokenQuota({ policies: [userDaily] }) })).toThrow(/already wrapped/)
      expect(() => withTokenQuota({} as never, { quota: createTokenQuota({ policies: [userDaily] }) })).toThrow(TypeError)
    })

    it('stays metered through withOptions()', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/v1/messages', json(anthropicMessage({ input: 12, output: 9 })))
      await asAlice(() => client.withOptions({ timeout: 5000 }).messages.create({ model, max_tokens: 100, messages }))
      expect(await used()).toMatchObject({ used: 21 })
    })
  })
})
