import { createOpenAI } from '@ai-sdk/openai'
import { estimateTokens } from '@tokenquota/core'
import { baseURL, chatChunks, chatCompletion, createProviderServer, dailyQuota, json, sse } from '@tokenquota/test-support'
import { generateText, streamText, wrapLanguageModel } from 'ai'
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest'
import { tokenQuotaMiddleware } from './token-quota-middleware.js'

// The AI SDK reports a count the provider left out as `undefined`: malformed, never 0 output.
const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answer = 'A usage report without its output count must not make the answer free. '.repeat(4)

function setup() {
  const { quota, warnings, as: asAlice, used } = dailyQuota()
  const model = wrapLanguageModel({ model: createOpenAI({ apiKey: 'sk-test', baseURL }).chat('gpt-4o'), middleware: tokenQuotaMiddleware({ quota }) })
  return { model, asAlice, used, warnings }
}

it('charges generateText without completion_tokens the prompt count and an estimate of the text', async () => {
  const { model, asAlice, used, warnings } = setup()
  server.reply('/chat/completions', json({ ...chatCompletion({ content: answer }), usage: { prompt_tokens: 1000, total_tokens: 1000 } }))
  await asAlice(() => generateText({ model, prompt: 'Say hello', maxRetries: 0 }))
  expect(await used()).toMatchObject({ used: 1000 + estimateTokens(answer), reserved: 0 })
  expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
})

it('charges streamText without completion_tokens the prompt count and an estimate of the text streamed', async () => {
  const { model, asAlice, used, warnings } = setup()
  const words = ['Counting', ' what', ' came', ' in', ' the', ' stream']
  const chunks = chatChunks({ includeUsage: true, words })
  server.reply('/chat/completions', sse([...chunks.slice(0, -1), { ...chunks.at(-1)!, usage: { prompt_tokens: 1000, total_tokens: 1000 } }]))
  const result = await asAlice(async () => streamText({ model, prompt: 'Say hello', maxRetries: 0 }))
  for await (const _ of result.textStream);
  await vi.waitFor(async () => expect(await used()).toMatchObject({ used: 1000 + estimateTokens(words.join('')), reserved: 0 }))
  expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
})
