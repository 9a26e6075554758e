import { createOpenAI } from '@ai-sdk/openai'
import { createTokenQuota } from '@tokenquota/core'
import { baseURL, computed, createProviderServer, createTokenMeter, densePrompts, openAIChatPromptTokens } from '@tokenquota/test-support'
import { generateText, wrapLanguageModel } from 'ai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { tokenQuotaMiddleware } from './token-quota-middleware.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12

describe.each(Object.entries(densePrompts()))('a dense prompt (%s) near the limit', (_kind, prompt) => {
  it('keeps what the provider counts within allow when 40 calls race', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/chat/completions', computed(meter.chat))
    const allow = 10 * (openAIChatPromptTokens([{ role: 'user', content: prompt }]) + answerTokens)
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }] })
    const model = wrapLanguageModel({ model: createOpenAI({ apiKey: 'sk-test', baseURL }).chat('gpt-4o'), middleware: tokenQuotaMiddleware({ quota }) })
    const send = () => generateText({ model, prompt, maxOutputTokens: answerTokens, maxRetries: 0 })
    const results = await quota.withContext({ user: 'alice' }, () => Promise.allSettled(Array.from({ length: 40 }, send)))
    expect(results.some((result) => result.status === 'fulfilled')).toBe(true)
    expect(meter.served).toBeLessThanOrEqual(allow)
  })
})
