import { createTokenQuota, type FallbackEvent, ResponseCache, TokenQuotaExceededError } from '@tokenquota/core'
import { createFakeClock } from '@tokenquota/core/testing'
import { baseURL, chatCompletion, createProviderServer, json } from '@tokenquota/test-support'
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
