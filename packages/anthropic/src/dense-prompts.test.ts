import Anthropic from '@anthropic-ai/sdk'
import { getTokenizer } from '@anthropic-ai/tokenizer'
import { anthropicBaseURL, anthropicMessage, computed, createProviderServer } from '@tokenquota/test-support'
import { densePrompts, estimateCorpus, raceNearLimit, realTokens } from '@tokenquota/test-support/tokens'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { anthropicEstimator } from './prompt.js'
import { withTokenQuota } from './with-token-quota.js'

// Claude's tokenizers since Claude 3 are not published: the prompts are counted with the one
// Anthropic did publish (Claude 2's, `@anthropic-ai/tokenizer`) and with o200k, whichever is larger.
// Its `countTokens` builds a tokenizer from the ranks on every call (~0.1 s each, 150 calls here):
// this file builds one and counts as `countTokens` does (NFKC, special tokens allowed).
const claude = getTokenizer()
afterAll(() => claude.free())
const claudeTokens = (text: string) => claude.encode(text.normalize('NFKC'), 'all').length
const realCount = (text: string) => Math.max(claudeTokens(text), realTokens(text).o200k)

describe('the Anthropic estimator', () => {
  it.each(estimateCorpus().map((sample) => [sample.name, sample.text] as const))('bounds what the real tokenizers count: %s', (_name, text) => {
    expect(anthropicEstimator(text)).toBeGreaterThanOrEqual(realCount(text))
  })
})

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answerTokens = 12

describe.each(Object.entries(densePrompts()))('a dense prompt (%s) near the limit', (_kind, prompt) => {
  it('keeps what the provider counts within allow when 40 calls race', async () => {
    let served = 0
    server.reply(
      '/v1/messages',
      computed((body) => {
        const input = (body.messages as Array<{ content: string }>).reduce((sum, message) => sum + 1 + realCount(message.content), 0)
        const output = Math.min(answerTokens, body.max_tokens as number)
        served += input + output
        return { kind: 'json', body: anthropicMessage({ text: 'ok', input, output }) }
      }),
    )
    const race = await raceNearLimit(1 + realCount(prompt) + answerTokens, (quota) => {
      const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), { quota })
      return () => client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: answerTokens, messages: [{ role: 'user', content: prompt }] })
    })
    expect(race.admitted).toBeGreaterThan(0)
    expect(served).toBeLessThanOrEqual(race.allow)
  })
})
