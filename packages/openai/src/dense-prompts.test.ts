import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { baseURL, computed, createProviderServer } from '@tokenquota/test-support'
import { createTokenMeter, densePrompts, openAIChatPromptTokens, raceNearLimit } from '@tokenquota/test-support/tokens'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12
const clientOf = (quota: Parameters<typeof withTokenQuota>[1]['quota']) => withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota })

describe.each(Object.entries(densePrompts()))('a dense prompt (%s) near the limit', (_kind, prompt) => {
  const messages = [{ role: 'user' as const, content: prompt }]
  const realPerCall = openAIChatPromptTokens(messages) + answerTokens

  it('keeps what the provider counts for chat completions within allow', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/chat/completions', computed(meter.chat))
    const race = await raceNearLimit(
      realPerCall,
      (quota) => () => clientOf(quota).chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: answerTokens }),
    )
    expect(race.admitted).toBeGreaterThan(0)
    expect(race.refusals.every((error) => TokenQuotaExceededError.isInstance(error))).toBe(true)
    expect(meter.served).toBeLessThanOrEqual(race.allow)
  })

  it('keeps what the provider counts for the Responses API within allow', async () => {
    const meter = createTokenMeter(answerTokens)
    server.reply('/responses', computed(meter.responses))
    const race = await raceNearLimit(
      realPerCall,
      (quota) => () => clientOf(quota).responses.create({ model: 'gpt-4.1', input: prompt, max_output_tokens: answerTokens }),
    )
    expect(race.admitted).toBeGreaterThan(0)
    expect(meter.served).toBeLessThanOrEqual(race.allow)
  })

  it('refuses before sending a prompt whose real count is over the per-request cap', async () => {
    const quota = createTokenQuota({
      policies: [{ name: 'user-daily', identifier: 'user', allow: 1e6, interval: 1, timeUnit: 'day', maxTokensPerRequest: realPerCall - 1 }],
    })
    const sending = quota.withContext({ user: 'alice' }, () =>
      clientOf(quota).chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: answerTokens }),
    )
    await expect(sending).rejects.toMatchObject({ code: 'RequestTooLarge' })
    expect(server.calls).toHaveLength(0)
  })
})
