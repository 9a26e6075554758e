import {
  createTokenQuota,
  estimateTokens,
  QuotaInputError,
  TokenQuotaExceededError,
  type QuotaPolicy,
  type TokenQuotaOptions,
  type WarningEvent,
  type FallbackEvent,
} from '@tokenquota/core'
import OpenAI7 from 'openai'
import OpenAI5 from 'openai-v5'
import OpenAIFloor from 'openai-floor'
import OpenAI6 from 'openai-v6'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  abortOnceArrived,
  apiError,
  baseURL,
  chatChunks,
  chatCompletion,
  createProviderServer,
  embeddingsResponse,
  hang,
  json,
  responseEvents,
  responseObject,
  sse,
  startResettingServer,
  textCompletion,
} from '@tokenquota/test-support'
import { withTokenQuota, type WithTokenQuotaOptions } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }
const messages = [{ role: 'user' as const, content: 'Say hello' }]
/** OpenAI's chat framing of one message: 3 tokens, 1 for the role, 3 to prime the reply. */
const oneMessageFraming = 3 + 1 + 3
/** The prompt estimate of `messages`. */
const promptEstimate = oneMessageFraming + estimateTokens('Say hello')

// The newest of every supported major, and the peer range's floor (5.0.0), run the same suite; types are those of the newest.
const sdks = [
  ['7 (newest)', OpenAI7],
  ['6 (newest 6.x)', OpenAI6 as unknown as typeof OpenAI7],
  ['5 (newest 5.x)', OpenAI5 as unknown as typeof OpenAI7],
  ['5.0.0 (the floor)', OpenAIFloor as unknown as typeof OpenAI7],
] as const

describe.each(sdks)('openai %s', (_, OpenAI) => {
  function setup(options: { policies?: QuotaPolicy[]; quota?: Partial<TokenQuotaOptions>; wrap?: Partial<WithTokenQuotaOptions>; maxRetries?: number } = {}) {
    const warnings: WarningEvent[] = []
    const fallbacks: FallbackEvent[] = []
    const quota = createTokenQuota({
      policies: options.policies ?? [userDaily],
      on: { warning: (event) => warnings.push(event), fallback: (event) => fallbacks.push(event) },
      ...options.quota,
    })
    const raw = new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: options.maxRetries ?? 0 })
    const client = withTokenQuota(raw, { quota, ...options.wrap })
    const asAlice = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
    const used = async (user = 'alice') => (await quota.status({ user }))[0]!
    return { quota, raw, client, asAlice, used, warnings, fallbacks }
  }

  /** The text of a Responses API result (openai v5's stream helper does not fill `output_text`). */
  function textOf(response: { output: ReadonlyArray<{ type: string; content?: ReadonlyArray<{ type: string; text?: string }> }> }): string {
    return response.output
      .flatMap((item) => item.content ?? [])
      .map((part) => part.text ?? '')
      .join('')
  }

  async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
    const items: T[] = []
    for await (const item of stream) items.push(item)
    return items
  }

  describe('chat.completions.create', () => {
    it('reserves before the call and charges the real usage, leaving the response untouched', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 10, cached: 4 } })))
      const completion = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 500 }))
      expect(completion).toEqual(chatCompletion({ usage: { prompt: 19, completion: 10, cached: 4 } }))
      expect(server.calls).toHaveLength(1)
      expect(server.calls[0]!.body).toEqual({ model: 'gpt-4o', messages, max_completion_tokens: 500 })
      expect(await used()).toMatchObject({ used: 29, reserved: 0 })
    })

    it('refuses a call that does not fit without sending it', async () => {
      const { client, asAlice, used } = setup({ policies: [{ ...userDaily, allow: 1000 }] })
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 10 } })))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 500 }))
      const error = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 980 })).catch(
        (caught: unknown) => caught,
      )
      expect(TokenQuotaExceededError.isInstance(error)).toBe(true)
      expect(error).toMatchObject({ status: 429, policy: 'user-daily', identifier: 'alice', used: 29 })
      expect((error as TokenQuotaExceededError).retryAfterMs).toBeGreaterThan(0)
      expect(server.calls).toHaveLength(1)
      expect(await used()).toMatchObject({ used: 29, reserved: 0 })
    })

    it('never charges more than allowed when 60 calls race for one user', async () => {
      const { client, asAlice, used } = setup({ policies: [{ ...userDaily, allow: 2000 }] })
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 40, completion: 60 } })))
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, () => asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 100 }))),
      )
      const admitted = results.filter((result) => result.status === 'fulfilled').length
      expect(admitted).toBeGreaterThan(0)
      expect(admitted).toBe(server.calls.length)
      expect(results.filter((result) => result.status === 'rejected').every((result) => TokenQuotaExceededError.isInstance(result.reason))).toBe(true)
      const status = await used()
      expect(status.used).toBe(admitted * 100)
      expect(status.used).toBeLessThanOrEqual(2000)
      expect(status.reserved).toBe(0)
    })

    it('refuses a call with no identity instead of letting it through unlimited', async () => {
      const { client } = setup()
      await expect(client.chat.completions.create({ model: 'gpt-4o', messages })).rejects.toSatisfy(
        (error: unknown) => QuotaInputError.isInstance(error) && error.code === 'UnresolvedIdentifier',
      )
      expect(server.calls).toHaveLength(0)
    })

    it('refuses a caller whose identifier is over 256 characters without sending the call or charging', async () => {
      const { client } = setup({ wrap: { context: (params) => ({ user: params.user as string }) } })
      const error = await client.chat.completions.create({ model: 'gpt-4o', messages, user: 'x'.repeat(1_000_000) }).catch((caught: unknown) => caught)
      expect(QuotaInputError.isInstance(error) && error.code === 'InvalidIdentifier').toBe(true)
      expect(server.calls).toHaveLength(0)
    })

    it('takes the caller from the context option when no withContext scope is active', async () => {
      const { client, used } = setup({ wrap: { context: (params) => ({ user: params.user as string }) } })
      server.reply('/chat/completions', json(chatCompletion()))
      await client.chat.completions.create({ model: 'gpt-4o', messages, user: 'bob' })
      expect(await used('bob')).toMatchObject({ used: 29 })
    })

    it('charges an estimate, never zero, when usage is missing or malformed, and says so', async () => {
      const { client, asAlice, used, warnings } = setup()
      const answer = 'The quota engine charges what the provider reports, and estimates what it leaves out. '.repeat(5)
      const question = 'How does the engine charge a response that carries no usage at all?'
      server.reply(
        '/chat/completions',
        json(chatCompletion({ usage: null, content: answer })),
        json({ ...chatCompletion(), usage: { prompt_tokens: 'many', completion_tokens: -1 } }),
      )
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: question }] }))
      const prompt = oneMessageFraming + estimateTokens(question)
      expect(await used()).toMatchObject({ used: prompt + estimateTokens(answer), reserved: 0 })
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: question }] }))
      expect((await used()).used).toBe(prompt + estimateTokens(answer) + prompt + estimateTokens(chatCompletion().choices[0]!.message.content!))
      expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing', 'UsageMissing'])
    })

    it('learns from a provider that counts more prompt tokens than estimated: warns once, raises the next estimates', async () => {
      const { client, asAlice, quota, warnings } = setup()
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 3 * promptEstimate, completion: 10 } })))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
      expect(warnings.filter((warning) => warning.code === 'EstimateLow')).toHaveLength(1)
      expect(quota.estimateStats()).toMatchObject([
        { model: 'gpt-4o', calls: 2, estimatedTokens: 2 * promptEstimate, reportedTokens: 6 * promptEstimate, worstRatio: 3 },
      ])
    })

    it('releases the reservation when the provider answers with an error', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(apiError("Invalid value for 'model'", 'invalid_request_error'), 400))
      await expect(asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))).rejects.toBeInstanceOf(OpenAI.BadRequestError)
      expect(await used()).toMatchObject({ used: 0, reserved: 0 })
    })

    it('charges SDK retries once, for the attempt that succeeded', async () => {
      const { client, asAlice, used } = setup({ maxRetries: 2 })
      vi.useFakeTimers({ toFake: ['setTimeout'] })
      try {
        server.reply('/chat/completions', json(apiError('The server had an error'), 500), json(apiError('Overloaded'), 503), json(chatCompletion()))
        const pending = asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
        await vi.advanceTimersByTimeAsync(30_000) // the retry back-offs, not the 10-minute request timeouts
        await pending
      } finally {
        vi.useRealTimers()
      }
      expect(server.calls.map((call) => call.headers.get('x-stainless-retry-count'))).toEqual(['0', '1', '2'])
      expect(await used()).toMatchObject({ used: 29, reserved: 0 })
    })

    it('clamps the output cap when a policy says so', async () => {
      const { client, asAlice } = setup({ policies: [{ ...userDaily, maxTokensPerRequest: { limit: 1000, action: 'clamp' } }] })
      server.reply('/chat/completions', json(chatCompletion()))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_tokens: 4000 }))
      expect(server.calls[0]!.body).toMatchObject({ max_tokens: 1000 - promptEstimate })
    })

    it('reserves and charges, with a warning, a metered request that reaches the transport without passing the gate', async () => {
      const { client, asAlice, used, warnings } = setup()
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 10 } })))
      // A pre-serialized body: the SDK sends it as it is, and the gate cannot read it.
      const body = JSON.stringify({ model: 'gpt-4o', messages, max_completion_tokens: 100 })
      await asAlice(() => client.post('/chat/completions', { body, headers: { 'content-type': 'application/json' } }))
      expect(warnings.map((warning) => warning.code)).toContain('UnplannedRequest')
      expect(await used()).toMatchObject({ used: 29, reserved: 0 })
    })

    it('clamps each of n choices, so the n outputs together stay within the cap', async () => {
      const { client, asAlice } = setup({ policies: [{ ...userDaily, maxTokensPerRequest: { limit: 1000, action: 'clamp' } }] })
      server.reply('/chat/completions', json(chatCompletion()))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 4000, n: 4 }))
      expect(server.calls[0]!.body).toMatchObject({ n: 4, max_completion_tokens: Math.floor((1000 - promptEstimate) / 4) })
    })

    it('keeps .withResponse() and .asResponse() working', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(chatCompletion()))
      const { data, response, request_id } = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }).withResponse())
      expect(data.choices[0]!.message.content).toBe('Hello! How can I assist you today?')
      expect(response.status).toBe(200)
      expect(request_id).toBe('req_json')
      const raw = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }).asResponse())
      expect(await raw.json()).toEqual(chatCompletion())
      expect(await used()).toMatchObject({ used: 58 })
    })

    it('charges an .asResponse() body however it is read, once, without copying it', async () => {
      const { client, asAlice, used } = setup()
      const readers = {
        text: async (response: Response) => JSON.parse(await response.text()) as unknown,
        arrayBuffer: async (response: Response) => JSON.parse(Buffer.from(await response.arrayBuffer()).toString()) as unknown,
        body: async (response: Response) => JSON.parse(await new Response(response.body).text()) as unknown,
      }
      for (const [name, read] of Object.entries(readers)) {
        server.reply('/chat/completions', json(chatCompletion()))
        const response = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }).asResponse())
        expect(await read(response), name).toEqual(chatCompletion())
        await expect(response.text()).rejects.toThrow() // read once, like any body
      }
      expect(await used()).toMatchObject({ used: 3 * 29, reserved: 0 })
    })
  })

  describe('streamed chat completions', () => {
    it('asks for usage, hides the extra chunk, and charges exactly what a plain call would', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, usage: { prompt: 19, completion: 7 } })))
      const stream = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }))
      const chunks = await collect(stream)
      expect(server.calls[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } })
      expect(chunks.every((chunk) => chunk.choices.length === 1)).toBe(true)
      expect(chunks.map((chunk) => chunk.choices[0]!.delta.content ?? '').join('')).toBe('Hello! How can I help?')
      expect(await used()).toMatchObject({ used: 26, reserved: 0 })
    })

    it('charges an estimate when a compatible endpoint streams no usage chunk', async () => {
      const { client, asAlice, used, warnings } = setup()
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: false, words: ['abcd', 'efgh', 'ijkl'] })))
      const chunks = await collect(await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, max_completion_tokens: 900 })))
      expect(chunks).toHaveLength(5)
      expect(await used()).toMatchObject({ used: promptEstimate + estimateTokens('abcdefghijkl'), reserved: 0 })
      expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
    })

    it('delivers the usage chunk when the caller asked for it', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true })))
      const stream = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, stream_options: { include_usage: true } }))
      const chunks = await collect(stream)
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: 26 } })
      expect(await used()).toMatchObject({ used: 26 })
    })

    it('charges a stream the caller breaks off for the prompt and the output so far, not the reservation', async () => {
      const { client, asAlice, used } = setup()
      const words = Array.from({ length: 40 }, (_, index) => ` word${index}`)
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, words })))
      const stream = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, max_completion_tokens: 2000 }))
      let seen = 0
      for await (const _ of stream) if (++seen === 6) break
      await vi.waitFor(async () => expect((await used()).reserved).toBe(0))
      const status = await used()
      // Prompt estimate: 4 framing + 3 text; output: about 5 short words received.
      expect(status.used).toBeGreaterThan(7)
      expect(status.used).toBeLessThan(40)
    })

    it('charges what was produced when the connection breaks mid-stream', async () => {
      const upstream = await startResettingServer(chatChunks({ includeUsage: true, words: ['one', ' two', ' three', ' four'] }).slice(0, 5))
      try {
        const { quota, asAlice, used } = setup()
        const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL: upstream.baseURL, maxRetries: 0 }), { quota })
        const stream = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, max_completion_tokens: 1000 }))
        const received: string[] = []
        await expect(
          (async () => {
            for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '')
          })(),
        ).rejects.toThrow()
        expect(received.join('')).toBe('one two three four')
        await vi.waitFor(async () => expect((await used()).reserved).toBe(0))
        expect((await used()).used).toBe(promptEstimate + estimateTokens('one two three four'))
      } finally {
        upstream.close()
      }
    })

    it('charges what was produced when the caller aborts the request', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, words: Array.from({ length: 30 }, () => ' abcd') })))
      const controller = new AbortController()
      const stream = await asAlice(() =>
        client.chat.completions.create({ model: 'gpt-4o', messages, stream: true, max_completion_tokens: 3000 }, { signal: controller.signal }),
      )
      let seen = 0
      // The SDK ends an aborted stream quietly.
      for await (const _ of stream) if (++seen === 5) controller.abort()
      expect(seen).toBeLessThan(10)
      await vi.waitFor(async () => expect((await used()).reserved).toBe(0))
      const charged = (await used()).used
      expect(charged).toBeGreaterThanOrEqual(7 + 3)
      expect(charged).toBeLessThan(7 + 30)
    })

    it('charges the reservation of calls aborted after they reached the provider, plain or streamed', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', hang())
      const held = await abortOnceArrived({
        server,
        held: async () => (await used()).reserved,
        start: (signal, index) =>
          asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 100, stream: index % 2 === 1 }, { signal })),
      })
      expect(held).toBeGreaterThanOrEqual(5 * 100)
      await vi.waitFor(async () => expect(await used()).toMatchObject({ used: held, reserved: 0 }))
    })

    it('releases a call whose signal was aborted before it was sent', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(chatCompletion()))
      await expect(asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }, { signal: AbortSignal.abort() }))).rejects.toThrow()
      expect(server.calls).toHaveLength(0)
      expect(await used()).toMatchObject({ used: 0, reserved: 0 })
    })

    it('charges the same tokens for a stream and for a plain call (invariant 4)', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 7 } })))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
      const plain = (await used()).used
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true, usage: { prompt: 19, completion: 7 } })))
      await collect(await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })))
      expect((await used()).used).toBe(2 * plain)
    })

    it('keeps tee() and toReadableStream() working', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true })))
      const stream = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }))
      const [left, right] = stream.tee()
      const [a, b] = await Promise.all([collect(left), collect(right)])
      expect(a).toEqual(b)
      expect(a.some((chunk) => chunk.choices.length === 0)).toBe(false)

      const again = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true }))
      const text = await new Response(again.toReadableStream()).text()
      expect(text.trim().split('\n')).toHaveLength(9)
      expect(await used()).toMatchObject({ used: 52, reserved: 0 })
    })

    it('meters the chat.completions.stream helper', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', sse(chatChunks({ includeUsage: true })))
      const runner = await asAlice(async () => client.chat.completions.stream({ model: 'gpt-4o', messages }))
      const final = await runner.finalChatCompletion()
      expect(final.choices[0]!.message.content).toBe('Hello! How can I help?')
      expect(await used()).toMatchObject({ used: 26 })
    })
  })

  describe('helpers and other endpoints', () => {
    it('meters chat.completions.parse', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(chatCompletion({ content: '{"city":"Paris"}', usage: { prompt: 50, completion: 6 } })))
      const completion = await asAlice(() =>
        client.chat.completions.parse({
          model: 'gpt-4o',
          messages,
          response_format: {
            type: 'json_schema',
            json_schema: {
              name: 'city',
              strict: true,
              schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
            },
          },
        }),
      )
      expect(completion.choices[0]!.message.parsed).toEqual({ city: 'Paris' })
      expect(await used()).toMatchObject({ used: 56 })
    })

    it('meters every model call of chat.completions.runTools', async () => {
      const { client, asAlice, used } = setup()
      server.reply(
        '/chat/completions',
        json(chatCompletion({ toolCall: { name: 'getWeather', arguments: '{"city":"Paris"}' }, usage: { prompt: 80, completion: 15 } })),
        json(chatCompletion({ content: 'It is sunny in Paris.', usage: { prompt: 120, completion: 8 } })),
      )
      const runner = asAlice(async () =>
        client.chat.completions.runTools({
          model: 'gpt-4o',
          messages,
          tools: [
            {
              type: 'function',
              function: {
                name: 'getWeather',
                description: 'Current weather in a city',
                function: (args: { city: string }) => `sunny in ${args.city}`,
                parse: JSON.parse,
                parameters: { type: 'object', properties: { city: { type: 'string' } } },
              },
            },
          ],
        }),
      )
      expect(await (await runner).finalContent()).toBe('It is sunny in Paris.')
      expect(server.calls).toHaveLength(2)
      expect(await used()).toMatchObject({ used: 95 + 128, reserved: 0 })
    })

    it('reserves for the server-side context a Responses continuation carries', async () => {
      const { client, asAlice, used } = setup({ wrap: { serverContextTokens: 5000 } })
      // Prompt usage within the estimate, so the estimate's learning does not raise what follows.
      server.reply('/responses', json({ ...responseObject({ usage: { prompt: 8, completion: 87 } }), id: 'resp_seen' }))
      await asAlice(() => client.responses.create({ model: 'gpt-4.1', input: 'Tell me a story', max_output_tokens: 300 }))
      server.reply('/responses', hang())
      const reservedFor = async (params: Record<string, unknown>) => {
        const controller = new AbortController()
        const call = asAlice(() =>
          client.responses.create({ model: 'gpt-4.1', input: 'Go on', max_output_tokens: 300, ...params } as never, { signal: controller.signal }),
        )
        await server.arrived(server.calls.length + 1)
        const { reserved } = await used()
        controller.abort()
        await expect(call).rejects.toThrow()
        return reserved
      }
      const fresh = await reservedFor({})
      // A continuation of the response this client charged: its 8 + 87 tokens come along.
      expect(await reservedFor({ previous_response_id: 'resp_seen' })).toBe(fresh + 95)
      // One it has not seen, or a conversation: the configured assumption.
      expect(await reservedFor({ previous_response_id: 'resp_elsewhere' })).toBe(fresh + 5000)
      expect(await reservedFor({ conversation: 'conv_123' })).toBe(fresh + 5000)
    })

    it('meters responses.create, plain and streamed, and the responses.stream / parse helpers', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/responses', json(responseObject({ usage: { prompt: 36, completion: 87, reasoning: 10 } })))
      const response = await asAlice(() => client.responses.create({ model: 'gpt-4.1', input: 'Tell me a story', max_output_tokens: 300 }))
      expect(response.output_text).toBe('In a quiet forest, a unicorn slept under the stars.')
      expect(await used()).toMatchObject({ used: 123 })

      server.reply('/responses', sse(responseEvents({ usage: { prompt: 36, completion: 3 } }), { done: false }))
      const events = await collect(await asAlice(() => client.responses.create({ model: 'gpt-4.1', input: 'Hi', stream: true })))
      expect(events.at(-1)).toMatchObject({ type: 'response.completed' })
      expect(server.calls[1]!.body).not.toHaveProperty('stream_options')
      expect(await used()).toMatchObject({ used: 123 + 39 })

      const helper = await asAlice(async () => client.responses.stream({ model: 'gpt-4.1', input: 'Hi' }))
      expect(textOf(await helper.finalResponse())).toBe('Hi there!')
      expect(await used()).toMatchObject({ used: 123 + 39 * 2 })

      server.reply('/responses', json(responseObject({ text: '{"mood":"happy"}', usage: { prompt: 40, completion: 5 } })))
      const parsed = await asAlice(() =>
        client.responses.parse({
          model: 'gpt-4.1',
          input: 'Mood?',
          text: {
            format: {
              type: 'json_schema',
              name: 'mood',
              strict: true,
              schema: { type: 'object', properties: { mood: { type: 'string' } }, required: ['mood'], additionalProperties: false },
            },
          },
        }),
      )
      expect(parsed.output_parsed).toEqual({ mood: 'happy' })
      expect(await used()).toMatchObject({ used: 123 + 39 * 2 + 45, reserved: 0 })
    })

    it('meters embeddings.create and the legacy completions.create', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/embeddings', json(embeddingsResponse({ inputs: 2, promptTokens: 12 })))
      const embeddings = await asAlice(() => client.embeddings.create({ model: 'text-embedding-3-small', input: ['hello world', 'bonjour'] }))
      expect(embeddings.data).toHaveLength(2)
      expect(await used()).toMatchObject({ used: 12 })

      server.reply('/completions', json(textCompletion({ usage: { prompt: 5, completion: 7 } })))
      const completion = await asAlice(() => client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test', max_tokens: 7 }))
      expect(completion.choices[0]!.text).toContain('This is indeed a test')
      expect(await used()).toMatchObject({ used: 24, reserved: 0 })
    })

    it('passes other calls through untouched and unmetered', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/models', json({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', created: 1715367049, owned_by: 'system' }] }))
      const models = await client.models.list()
      expect(models.data.map((model) => model.id)).toEqual(['gpt-4o'])
      expect(await asAlice(async () => (await used()).used)).toBe(0)
    })
  })

  describe('fallback', () => {
    const perModel: QuotaPolicy[] = [
      { name: 'gpt-4o-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', models: ['gpt-4o'] },
      { name: 'mini-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', models: ['gpt-4o-mini'] },
      { name: 'nano-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day', models: ['gpt-4.1-nano'] },
    ]

    it('follows a chain of cheaper models and charges the one that ran', async () => {
      const { client, asAlice, quota, fallbacks } = setup({
        policies: perModel,
        wrap: { fallback: { 'gpt-4o': 'gpt-4o-mini', 'gpt-4o-mini': 'gpt-4.1-nano' } },
      })
      server.reply('/chat/completions', json(chatCompletion({ usage: { prompt: 19, completion: 10 } })))
      await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 1500 }))
      expect(server.calls[0]!.body).toMatchObject({ model: 'gpt-4.1-nano' })
      expect(fallbacks.map((event) => `${event.kind}:${event.from}→${event.to}:${event.error.policy}`)).toEqual([
        'model:gpt-4o→gpt-4o-mini:gpt-4o-daily',
        'model:gpt-4o-mini→gpt-4.1-nano:mini-daily',
      ])
      expect(await quota.status({ user: 'alice' }, { model: 'gpt-4.1-nano' })).toMatchObject([{ name: 'nano-daily', used: 29 }])
    })

    it('throws when every fallback is refused', async () => {
      const { client, asAlice } = setup({ policies: perModel.slice(0, 2), wrap: { fallback: { 'gpt-4o': 'gpt-4o-mini', 'gpt-4o-mini': 'gpt-4o' } } })
      const error = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: 1500 })).catch(
        (caught: unknown) => caught,
      )
      expect(error).toMatchObject({ code: 'RequestTooLarge', policy: 'mini-daily' })
      expect(server.calls).toHaveLength(0)
    })

    it('answers with a ready response in the SDK shape, plain or streamed, without calling or charging', async () => {
      const friendly = "You have used today's allowance. It resets at midnight UTC."
      const { client, asAlice, quota, fallbacks } = setup({
        policies: [{ ...userDaily, allow: 10 }],
        wrap: { fallback: ({ error }) => ({ response: `${friendly} (${error.policy})` }) },
      })
      const completion = await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages }))
      expect(completion.choices[0]!.message).toMatchObject({ role: 'assistant', content: `${friendly} (user-daily)` })
      const chunks = await collect(await asAlice(() => client.chat.completions.create({ model: 'gpt-4o', messages, stream: true })))
      expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(`${friendly} (user-daily)`)
      const response = await asAlice(() => client.responses.create({ model: 'gpt-4.1', input: 'Hi' }))
      expect(response.output_text).toBe(`${friendly} (user-daily)`)
      const streamed = await asAlice(async () => client.responses.stream({ model: 'gpt-4.1', input: 'Hi' }))
      expect(textOf(await streamed.finalResponse())).toBe(`${friendly} (user-daily)`)
      expect(server.calls).toHaveLength(0)
      expect(fallbacks.map((event) => event.kind)).toEqual(['response', 'response', 'response', 'response'])
      expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 0, reserved: 0 }])
    })
  })

  describe('the wrapped client', () => {
    it('is a client of the same class, the original stays unmetered, and it cannot be wrapped twice', async () => {
      const { client, raw, quota } = setup()
      expect(client).toBeInstanceOf(OpenAI)
      expect(client).not.toBe(raw)
      expect(client.baseURL).toBe(raw.baseURL)
      server.reply('/chat/completions', json(chatCompletion()))
      await raw.chat.completions.create({ model: 'gpt-4o', messages })
      expect(() => withTokenQuota(client, { quota })).toThrow(/already wrapped/)
    })

    it('stays metered through withOptions()', async () => {
      const { client, asAlice, used } = setup()
      server.reply('/chat/completions', json(chatCompletion()))
      const derived = client.withOptions({ timeout: 5000 })
      await asAlice(() => derived.chat.completions.create({ model: 'gpt-4o', messages }))
      expect(await used()).toMatchObject({ used: 29 })
    })

    it('uses an exact tokenizer when configured', async () => {
      const { createExactEstimator } = await import('./exact-estimator.js')
      // 200 Japanese characters: the heuristic counts 80 tokens (two per five joined characters), o200k 40.
      const content = 'こんにちは'.repeat(40)
      const capped = [{ ...userDaily, maxTokensPerRequest: 70 }]
      server.reply('/chat/completions', json(chatCompletion()))
      const heuristic = setup({ policies: capped })
      await expect(
        heuristic.asAlice(() => heuristic.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }], max_completion_tokens: 1 })),
      ).rejects.toMatchObject({ code: 'RequestTooLarge' })
      const exact = setup({ policies: capped, wrap: { estimator: createExactEstimator() } })
      await exact.asAlice(() => exact.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }], max_completion_tokens: 1 }))
      expect(server.calls).toHaveLength(1)
    })
  })
})
