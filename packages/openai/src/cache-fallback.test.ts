import { createTokenQuota, type FallbackEvent, ResponseCache, TokenQuotaExceededError } from '@tokenquota/core'
import { createFakeClock } from '@tokenquota/core/testing'
import { baseURL, chatChunks, chatCompletion, createProviderServer, json, responseEvents, responseObject, sse } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const question = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'What is the capital of France?' }], max_completion_tokens: 50 }

/** A daily budget one call spends, and a response cache on the quota's fake clock. */
function setup(cacheOptions: { shared?: boolean } = {}) {
  const clock = createFakeClock('2026-06-10T10:00:00Z')
  const fallbacks: FallbackEvent[] = []
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow: 200, interval: 1, timeUnit: 'day' }],
    now: clock.now,
    on: { fallback: (event) => fallbacks.push(event) },
  })
  const cache = new ResponseCache({ ttlMs: 60_000, now: clock.now, ...cacheOptions })
  const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota, cache })
  server.reply('/chat/completions', json(chatCompletion({ content: 'Paris.', usage: { prompt: 150, completion: 40 } })))
  const as = <T>(user: string, fn: () => Promise<T>) => quota.withContext({ user }, fn)
  const used = async (user: string) => (await quota.status({ user }))[0]!.used
  return { clock, quota, client, as, used, fallbacks }
}

describe('fallback: cache, through the OpenAI adapter', () => {
  it("serves the same caller's recent answer when over budget, plain or streamed, free and without calling", async () => {
    const { client, as, used, fallbacks } = setup()
    await as('alice', () => client.chat.completions.create(question))
    expect(server.calls).toHaveLength(1)
    expect(await used('alice')).toBe(190)

    const again = await as('alice', () => client.chat.completions.create(question))
    expect(again.choices[0]?.message.content).toBe('Paris.')
    let streamed = ''
    for await (const chunk of await as('alice', () => client.chat.completions.create({ ...question, stream: true })))
      streamed += chunk.choices[0]?.delta.content ?? ''
    expect(streamed).toBe('Paris.')
    expect(server.calls).toHaveLength(1)
    expect(await used('alice')).toBe(190)
    expect(fallbacks.map((event) => [event.kind, event.from, event.error.policy])).toEqual([
      ['cache', 'gpt-4o', 'user-daily'],
      ['cache', 'gpt-4o', 'user-daily'],
    ])
  })

  it('refuses a request it has no answer for: another question, another caller (unless shared), an answer past its TTL, a call with tools', async () => {
    const { clock, client, as } = setup()
    await as('alice', () => client.chat.completions.create(question))
    const refused = (promise: Promise<unknown>) =>
      promise.then(
        () => false,
        (error: unknown) => TokenQuotaExceededError.isInstance(error),
      )
    expect(await refused(as('alice', () => client.chat.completions.create({ ...question, messages: [{ role: 'user', content: 'And of Spain?' }] })))).toBe(true)
    await as('bob', () => client.chat.completions.create(question))
    await as('bob', () => client.chat.completions.create(question)) // bob's own answer
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }]
    expect(new ResponseCache().keyOf({ user: 'carol' }, 'gpt-4o', { ...question, tools })).toBeUndefined()
    expect(new ResponseCache().keyOf({ user: 'carol' }, 'gpt-4o', { ...question, stream: true })).toBe(
      new ResponseCache().keyOf({ user: 'carol' }, 'gpt-4o', question),
    )
    clock.advance(61_000)
    expect(await refused(as('alice', () => client.chat.completions.create(question)))).toBe(true)

    const shared = setup({ shared: true })
    await shared.as('alice', () => shared.client.chat.completions.create(question))
    await shared.as('dave', () => shared.client.chat.completions.create(question)) // dave's budget pays his first call
    expect((await shared.as('dave', () => shared.client.chat.completions.create(question))).choices[0]?.message.content).toBe('Paris.')
  })
})

describe('fallback: cache keeps only the visible answer', () => {
  const reasoning = {
    type: 'reasoning',
    id: 'rs_68af4030592c81938ec0a5fbab4a3e9f05438e46b5f69a3b',
    summary: [{ type: 'summary_text', text: 'SECRET-SUMMARY: the user asks for a capital.' }],
    encrypted_content: 'gAAAAABoSECRET-ENCRYPTED',
  }
  const withReasoning = (text: string) => {
    const body = responseObject({ model: 'o4-mini', text, usage: { prompt: 20, completion: 350, reasoning: 300 } })
    return { ...body, output: [reasoning, ...body.output] }
  }
  const ask = { model: 'o4-mini', input: 'What is the capital of France?', max_output_tokens: 200 }

  /** Alice spends her day on one call, then sends the same request again. */
  function overBudget() {
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 400, interval: 1, timeUnit: 'day' }] })
    const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota, cache: new ResponseCache() })
    const as = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
    return { client, as }
  }

  it('Responses API, plain: serves the output text, never the reasoning summary or its encrypted content', async () => {
    const { client, as } = overBudget()
    server.reply('/responses', json(withReasoning('Paris.')))
    await as(() => client.responses.create(ask))
    const again = await as(() => client.responses.create(ask))
    expect(server.calls).toHaveLength(1)
    expect(again.output_text).toBe('Paris.')
    expect(JSON.stringify(again)).not.toMatch(/SECRET/)
  })

  it('Responses API, streamed first: the completed response’s text is what is served', async () => {
    const { client, as } = overBudget()
    const events = responseEvents({ words: ['Par', 'is.'], usage: { prompt: 20, completion: 350, reasoning: 300 }, model: 'o4-mini' })
    const completed = events.at(-1)!
    const response = (completed.data as unknown as { response: Record<string, unknown> }).response
    const withSummary = { ...completed, data: { ...completed.data, response: { ...response, output: [reasoning, ...(response.output as unknown[])] } } }
    const summaryDelta = { event: 'response.reasoning_summary_text.delta', data: { type: 'response.reasoning_summary_text.delta', delta: 'SECRET-SUMMARY' } }
    server.reply('/responses', sse([summaryDelta, ...events.slice(0, -1), withSummary], { done: false }))
    for await (const _ of await as(() => client.responses.create({ ...ask, stream: true }))) {
      // drained
    }
    const again = await as(() => client.responses.create(ask))
    expect(server.calls).toHaveLength(1)
    expect(again.output_text).toBe('Paris.')
    expect(JSON.stringify(again)).not.toMatch(/SECRET/)
  })

  it('chat: a streamed answer is served as its content, tool-free; several choices are not cached', async () => {
    const { client, as } = overBudget()
    const chat = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'Capital of France?' }], max_completion_tokens: 100 }
    server.reply('/chat/completions', sse(chatChunks({ words: ['Par', 'is.'], usage: { prompt: 20, completion: 280 }, includeUsage: true })))
    for await (const _ of await as(() => client.chat.completions.create({ ...chat, stream: true }))) {
      // drained
    }
    const again = await as(() => client.chat.completions.create(chat))
    expect(again.choices[0]?.message.content).toBe('Paris.')

    const two = overBudget()
    const first = chatCompletion({ content: 'Paris.', usage: { prompt: 20, completion: 380 } })
    server.reply(
      '/chat/completions',
      json({ ...first, choices: [first.choices[0], { ...first.choices[0], index: 1, message: { ...first.choices[0]!.message, content: 'Lyon?' } }] }),
    )
    await two.as(() => two.client.chat.completions.create({ ...chat, n: 2 }))
    await expect(two.as(() => two.client.chat.completions.create({ ...chat, n: 2 }))).rejects.toThrow(TokenQuotaExceededError)
  })
})
