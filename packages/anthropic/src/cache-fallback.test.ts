import Anthropic from '@anthropic-ai/sdk'
import { createTokenQuota, ResponseCache } from '@tokenquota/core'
import { anthropicBaseURL, anthropicMessage, anthropicStreamEvents, createProviderServer, json, sse } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const ask = { model: 'claude-sonnet-4-6', max_tokens: 300, messages: [{ role: 'user' as const, content: 'Capital of France?' }] }
const thinking = { type: 'thinking', thinking: 'SECRET-THINKING: the user wants a capital.', signature: 'EqQBSECRETSIGNATURE' }

/** A daily budget one call spends: the same request again is served from the cache. */
function overBudget() {
  const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 400, interval: 1, timeUnit: 'day' }] })
  const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), {
    quota,
    cache: new ResponseCache(),
  })
  const as = <T>(fn: () => Promise<T>) => quota.withContext({ user: 'alice' }, fn)
  return { client, as }
}

describe('fallback: cache, through the Anthropic adapter', () => {
  it("serves the answer's text, never Claude's thinking, plain", async () => {
    const { client, as } = overBudget()
    server.reply('/v1/messages', json(anthropicMessage({ content: [thinking, { type: 'text', text: 'Paris.' }], input: 20, output: 380 })))
    await as(() => client.messages.create(ask))
    const again = await as(() => client.messages.create(ask))
    expect(server.calls).toHaveLength(1)
    expect(again.content).toEqual([expect.objectContaining({ type: 'text', text: 'Paris.' })])
    expect(JSON.stringify(again)).not.toMatch(/SECRET/)
  })

  it("serves the answer's text, never Claude's thinking, streamed first", async () => {
    const { client, as } = overBudget()
    server.reply(
      '/v1/messages',
      sse(anthropicStreamEvents({ thinking: ['SECRET-THINKING'], words: ['Par', 'is.'], usage: { input: 20, output: 380 } }), { done: false }),
    )
    for await (const _ of await as(() => client.messages.create({ ...ask, stream: true }))) {
      // drained
    }
    const again = await as(() => client.messages.create(ask))
    expect(server.calls).toHaveLength(1)
    expect(again.content).toEqual([expect.objectContaining({ type: 'text', text: 'Paris.' })])
  })
})
