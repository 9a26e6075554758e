import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { baseURL, computed, createProviderServer, createTokenMeter, densePrompts, openAIChatPromptTokens } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12

/** 40 parallel calls with a budget of 10 calls' real cost; returns what the provider counted. */
async function race(send: (client: OpenAI) => Promise<unknown>, realPerCall: number) {
  const allow = 10 * realPerCall
  const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }] })
  const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota })
  const results = await quota.withContext({ user: 'alice' }, () => Promise.allSettled(Array.from({ length: 40 }, () => send(client))))
  const refused = results.filter((result) => result.status === 'rejected')
  expect(refused.every((result) => TokenQuotaExceededError.isInstance(result.reason))).toBe(true)
  return { allow, admitted: results.length - refused.length }
}

describe.each(Object.entries(densePrompts()))('a dense prompt (%s) near the limit', (_kind, prompt) => {
  it('keeps what the provider counts for chat completions within allow', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/chat/completions', computed(meter.chat))
    const messages = [{ role: 'user' as const, content: prompt }]
    const { allow, admitted } = await race((client) => client.chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: answerTokens }), openAIChatPromptTokens(messages) + answerTokens)
    expect(admitted).toBeGreaterThan(0)
    expect(meter.served).toBeLessThanOrEqual(allow)
  })

  it('keeps what the provider counts for the Responses API within allow', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/responses', computed(meter.responses))
    const { allow, admitted } = await race((client) => client.responses.create({ model: 'gpt-4.1', input: prompt, max_output_tokens: answerTokens }), openAIChatPromptTokens([{ role: 'user', content: prompt }]) + answerTokens)
    expect(admitted).toBeGreaterThan(0)
    expect(meter.served).toBeLessThanOrEqual(allow)
  })

  it('refuses before sending a prompt whose real count is over the per-request cap', async () => {
    const real = openAIChatPromptTokens([{ role: 'user', content: prompt }])
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 1e6, interval: 1, timeUnit: 'day', maxTokensPerRequest: real + answerTokens - 1 }] })
    const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota })
    const sending = quota.withContext({ user: 'alice' }, () => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }], max_completion_tokens: answerTokens }))
    await expect(sending).rejects.toMatchObject({ code: 'RequestTooLarge' })
    expect(server.calls).toHaveLength(0)
  })
})
