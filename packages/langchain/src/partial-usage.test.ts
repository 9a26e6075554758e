import { HumanMessage } from '@langchain/core/messages'
import { ChatOpenAI } from '@langchain/openai'
import { estimateTokens } from '@tokenquota/core'
import { baseURL, chatCompletion, createProviderServer, dailyQuota, json } from '@tokenquota/test-support'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { TokenQuotaCallbackHandler } from './token-quota-callback-handler.js'

// LangChain fills a count the provider left out with 0: usage that counts no output for an answer
// that has some is malformed, never a free answer.
const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

const answer = 'A usage report without its output count must not make the answer free. '.repeat(4)

it('charges an answer whose usage has no completion_tokens the prompt count and an estimate of the text', async () => {
  const { quota, warnings } = dailyQuota()
  const handler = new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' } })
  const model = new ChatOpenAI({ model: 'gpt-4o', apiKey: 'sk-test', configuration: { baseURL }, maxRetries: 0 })
  server.reply('/chat/completions', json({ ...chatCompletion({ content: answer }), usage: { prompt_tokens: 1000, total_tokens: 1000 } }))
  await model.invoke([new HumanMessage('Say hello')], { callbacks: [handler] })
  expect((await quota.status({ user: 'alice' }))[0]).toMatchObject({ used: 1000 + estimateTokens(answer), reserved: 0 })
  expect(warnings.map((warning) => warning.code)).toEqual(['UsageMissing'])
})
