import Anthropic from '@anthropic-ai/sdk'
import { createTokenQuota, type WarningEvent } from '@tokenquota/core'
import { anthropicBaseURL, anthropicMessage, createProviderServer, json } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { anthropicEstimator } from './prompt.js'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const model = 'claude-sonnet-4-6'
const messages = [{ role: 'user' as const, content: 'Say hello' }]
const answer = 'Hello! How can I help you today?'

// An estimate replaces a malformed usage, but never charges less than its valid counts say.
it('charges a malformed usage at least its valid input count, with the estimate of the output received', async () => {
  const warnings: WarningEvent[] = []
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }],
    on: { warning: (event) => warnings.push(event) },
  })
  const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), { quota })
  const message = anthropicMessage({ text: answer })
  server.reply('/v1/messages', json({ ...message, usage: { ...message.usage, input_tokens: 1000, output_tokens: -1 } }))
  await quota.withContext({ user: 'alice' }, () => client.messages.create({ model, max_tokens: 500, messages }))
  expect((await quota.status({ user: 'alice' }))[0]).toMatchObject({ used: 1000 + anthropicEstimator(answer), reserved: 0 })
  expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
})
