import { GoogleGenAI } from '@google/genai'
import { computed, createProviderServer } from '@tokenquota/test-support'
import { createTokenMeter, densePrompts, raceNearLimit, realTokens } from '@tokenquota/test-support/tokens'
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
    const race = await raceNearLimit(realTokens(prompt).o200k + answerTokens, (quota) => {
      const ai = withTokenQuota(new GoogleGenAI({ apiKey: 'test-key', apiVersion: 'v1' }), { quota })
      return () => ai.models.generateContent({ model: 'gemini-2.5-flash', contents: prompt, config: { maxOutputTokens: answerTokens } })
    })
    expect(race.admitted).toBeGreaterThan(0)
    expect(meter.served).toBeLessThanOrEqual(race.allow)
  })
})
