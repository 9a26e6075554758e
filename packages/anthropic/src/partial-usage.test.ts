import Anthropic from '@anthropic-ai/sdk'
import { anthropicBaseURL, anthropicMessage, anthropicStreamEvents, createProviderServer, dailyQuota, json, sse } from '@tokenquota/test-support'
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
  const { quota, warnings } = dailyQuota()
  const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), { quota })
  const message = anthropicMessage({ text: answer })
  server.reply('/v1/messages', json({ ...message, usage: { ...message.usage, input_tokens: 1000, output_tokens: -1 } }))
  await quota.withContext({ user: 'alice' }, () => client.messages.create({ model, max_tokens: 500, messages }))
  expect((await quota.status({ user: 'alice' }))[0]).toMatchObject({ used: 1000 + anthropicEstimator(answer), reserved: 0 })
  expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
})

// message_start's output count is a placeholder (1): a final message_delta whose output count is
// null or missing must not leave it as the charge for the whole answer.
it('charges a stream whose final output count is null or missing the estimate of its output, not message_start’s placeholder', async () => {
  const { quota, warnings } = dailyQuota()
  const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), { quota })
  const words = answer.split(/(?= )/)
  const events = anthropicStreamEvents({ words, usage: { input: 1000, output: 15 } })
  const finalUsages = [{ output_tokens: null }, {}]
  for (const [index, finalUsage] of finalUsages.entries()) {
    const stream = events.map((event) => (event.event === 'message_delta' ? { ...event, data: { ...event.data, usage: finalUsage } } : event))
    server.reply('/v1/messages', sse(stream, { done: false }))
    await quota.withContext({ user: `user-${index}` }, async () => {
      for await (const _ of await client.messages.create({ model, max_tokens: 500, messages, stream: true }));
    })
    expect((await quota.status({ user: `user-${index}` }))[0]).toMatchObject({ used: 1000 + anthropicEstimator(answer), reserved: 0 })
  }
  expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing', 'UsageMissing'])
})

// A negative cache count is malformed; it must not lower the prompt count that came beside it.
it('charges a stream whose cache count is negative at least its input count', async () => {
  const { quota } = dailyQuota()
  const client = withTokenQuota(new Anthropic({ apiKey: 'sk-ant-test', baseURL: anthropicBaseURL, maxRetries: 0 }), { quota })
  const events = anthropicStreamEvents({ words: answer.split(/(?= )/), usage: { input: 1000, output: 15, cacheRead: -900 } })
  server.reply('/v1/messages', sse(events, { done: false }))
  await quota.withContext({ user: 'alice' }, async () => {
    for await (const _ of await client.messages.create({ model, max_tokens: 500, messages, stream: true }));
  })
  const [status] = await quota.status({ user: 'alice' })
  expect(status?.used).toBeGreaterThanOrEqual(1000 + anthropicEstimator(answer))
})
