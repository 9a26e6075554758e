import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { baseURL, computed, createProviderServer } from '@tokenquota/test-support'
import { createTokenMeter, estimateCorpus, openAIChatPromptTokens, raceNearLimit, realTokens } from '@tokenquota/test-support/tokens'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createExactEstimator } from './exact-estimator.js'
import { type WithTokenQuotaOptions, withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12
const clientOf = (quota: WithTokenQuotaOptions['quota'], fallback?: WithTokenQuotaOptions['fallback']) =>
  withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota, fallback })

describe.each(['arabic.txt', 'cjk-chinese.txt', 'cjk-japanese.txt', 'hindi.txt', 'korean.txt'])(
  "a %s prompt, estimated with the model's own tokenizer",
  (name) => {
    const prompt = estimateCorpus().find((sample) => sample.name === name)!.text
    const messages = [{ role: 'user' as const, content: prompt }]
    // The chat framing: 3 to prime the reply, 3 for the message, 1 for its role.
    const cl100kPrompt = realTokens(prompt).cl100k + 7

    it('on gpt-4o (o200k_base): 40 parallel calls on an allowance of ten calls admit at least six, and what is served stays within it', async () => {
      const meter = createTokenMeter(answerTokens)
      server.reply('/chat/completions', computed(meter.chat))
      const realPerCall = openAIChatPromptTokens(messages) + answerTokens
      const race = await raceNearLimit(
        realPerCall,
        (quota) => () => clientOf(quota).chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: answerTokens }),
      )
      expect(race.admitted).toBeGreaterThanOrEqual(6)
      expect(race.refusals.every((error) => TokenQuotaExceededError.isInstance(error))).toBe(true)
      expect(meter.served).toBeLessThanOrEqual(race.allow)
    })

    const capped = () =>
      createTokenQuota({
        policies: [{ name: 'user-daily', identifier: 'user', allow: 1e6, interval: 1, timeUnit: 'day', maxTokensPerRequest: cl100kPrompt + answerTokens - 1 }],
      })

    it('on gpt-4 (cl100k_base): refused before sending when its cl100k_base count is over the per-request cap', async () => {
      const quota = capped()
      const sending = quota.withContext({ user: 'alice' }, () =>
        clientOf(quota).chat.completions.create({ model: 'gpt-4', messages, max_completion_tokens: answerTokens }),
      )
      await expect(sending).rejects.toMatchObject({ code: 'RequestTooLarge' })
      expect(server.calls).toHaveLength(0)
    })

    it('on gpt-4o with a fallback to gpt-4: bounds both tokenizers, so refused before sending as well', async () => {
      const quota = capped()
      const sending = quota.withContext({ user: 'alice' }, () =>
        clientOf(quota, { 'gpt-4o': 'gpt-4' }).chat.completions.create({ model: 'gpt-4o', messages, max_completion_tokens: answerTokens }),
      )
      await expect(sending).rejects.toMatchObject({ code: 'RequestTooLarge' })
      expect(server.calls).toHaveLength(0)
    })
  },
)

describe('createExactEstimator', () => {
  it("counts with the model's own encoding: cl100k_base for gpt-4, o200k_base for gpt-4o and unknown models", async () => {
    const hindi = estimateCorpus().find((sample) => sample.name === 'hindi.txt')!.text
    const estimator = createExactEstimator()
    const real = realTokens(hindi)
    expect(await estimator(hindi, { model: 'gpt-4' })).toBe(real.cl100k)
    expect(await estimator(hindi, { model: 'gpt-4o' })).toBe(real.o200k)
    expect(await estimator(hindi)).toBe(real.o200k)
  })
})
