import { GoogleGenAI } from '@google/genai'
import { createTokenQuota } from '@tokenquota/core'
import { computed, createProviderServer, createTokenMeter, densePrompts, realTokens } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12

describe.each(Object.entries(densePrompts()))('a dense prompt (%s) near the limit', (_kind, prompt) => {
  it('keeps what the provider counts within allow when 40 calls race', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/v1/models/gemini-2.5-flash:generateContent', computed(meter.gemini))
    const allow = 10 * (realTokens(prompt).o200k + answerTokens)
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }] })
    const ai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key' }), { quota })
    const send = () => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt, config: { maxOutputTokens: answerTokens } })
    const results = await quota.withContext({ user: 'alice' }, () => Promise.allSettled(Array.from({ length: 40 }, send)))
    expect(results.some((result) => result.status === 'fulfilled')).toBe(true)
    expect(meter.served).toBeLessThanOrEqual(allow)
  })
})
