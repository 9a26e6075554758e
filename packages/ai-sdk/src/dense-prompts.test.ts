import { createOpenAI } from '@ai-sdk/openai'
import { baseURL, computed, createProviderServer } from '@tokenquota/test-support'
import { createTokenMeter, densePrompts, openAIChatPromptTokens, raceNearLimit } from '@tokenquota/test-support/tokens'
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
    const race = await raceNearLimit(openAIChatPromptTokens([{ role: 'user', content: prompt }]) + answerTokens, (quota) => {
      const model = wrapLanguageModel({ model: createOpenAI({ apiKey: 'sk-test', baseURL }).chat('gpt-4o'), middleware: tokenQuotaMiddleware({ quota }) })
      return () => generateText({ model, prompt, maxOutputTokens: answerTokens, maxRetries: 0 })
    })
    expect(race.admitted).toBeGreaterThan(0)
    expect(meter.served).toBeLessThanOrEqual(race.allow)
  })
})
