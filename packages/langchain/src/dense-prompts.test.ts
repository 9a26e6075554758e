import { HumanMessage } from '@langchain/core/messages'
import { ChatOpenAI } from '@langchain/openai'
import { createTokenQuota } from '@tokenquota/core'
import { baseURL, computed, createProviderServer, createTokenMeter, densePrompts, openAIChatPromptTokens } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TokenQuotaCallbackHandler } from './token-quota-callback-handler.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12

describe.each(Object.entries(densePrompts()))('a dense prompt (%s) near the limit', (_kind, prompt) => {
  it('keeps what the provider counts within allow when 40 runs race', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/chat/completions', computed(meter.chat))
    const allow = 10 * (openAIChatPromptTokens([{ role: 'user', content: prompt }]) + answerTokens)
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }] })
    const handler = new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' } })
    const model = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'sk-test', configuration: { baseURL }, maxRetries: 0, maxTokens: answerTokens })
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => model.invoke([new HumanMessage(prompt)], { callbacks: [handler] })))
    expect(results.some((result) => result.status === 'fulfilled')).toBe(true)
    expect(meter.served).toBeLessThanOrEqual(allow)
  })
})
