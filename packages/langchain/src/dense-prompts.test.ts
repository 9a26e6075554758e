import { HumanMessage } from '@langchain/core/messages'
import { ChatOpenAI } from '@langchain/openai'
import { baseURL, computed, createProviderServer } from '@tokenquota/test-support'
import { createTokenMeter, densePrompts, openAIChatPromptTokens, raceNearLimit } from '@tokenquota/test-support/tokens'
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
    const race = await raceNearLimit(openAIChatPromptTokens([{ role: 'user', content: prompt }]) + answerTokens, (quota) => {
      const handler = new TokenQuotaCallbackHandler({ quota })
      const model = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'sk-test', configuration: { baseURL }, maxRetries: 0, maxTokens: answerTokens })
      return () => model.invoke([new HumanMessage(prompt)], { callbacks: [handler] })
    })
    expect(race.admitted).toBeGreaterThan(0)
    expect(meter.served).toBeLessThanOrEqual(race.allow)
  })
})
