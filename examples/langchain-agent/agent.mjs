// A small tool-using LangChain agent; every model call it makes is reserved against the end
// user's quota and charged with its real usage. Runs against OPENAI_BASE_URL / OPENAI_API_KEY when
// set, else against the local OpenAI-compatible endpoint of examples/openai-chat.
import { HumanMessage } from '@langchain/core/messages'
import { tool } from '@langchain/core/tools'
import { ChatOpenAI } from '@langchain/openai'
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { TokenQuotaCallbackHandler } from '@tokenquota/langchain'
import { createAgent } from 'langchain'
import { z } from 'zod'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'

const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const quota = createTokenQuota({
  // A small daily budget: each model call reserves its prompt plus maxTokens (300), so the
  // third question runs out of budget part-way (LangChain also logs the refusal on stderr).
  policies: [{ name: 'user-daily', identifier: 'user', allow: 660, interval: 1, timeUnit: 'day' }],
})
const handler = new TokenQuotaCallbackHandler({ quota, context: (run) => ({ user: run.metadata.user_id }) })

const getWeather = tool(({ city }) => `It is 18 °C and sunny in ${city}`, {
  name: 'get_weather',
  description: 'The current weather in a city',
  schema: z.object({ city: z.string() }),
})
const model = new ChatOpenAI({
  model: process.env.OPENAI_MODEL ?? 'gpt-4o-mini',
  maxTokens: 300,
  ...(local && { apiKey: 'local', configuration: { baseURL: local.baseURL } }),
})
const agent = createAgent({ model, tools: [getWeather] })

try {
  for (const question of ['What is the weather in Paris?', 'And should I take an umbrella?', 'Plan my whole week, please.']) {
    console.log(`alice: ${question}`)
    try {
      const result = await agent.invoke({ messages: [new HumanMessage(question)] }, { callbacks: [handler], metadata: { user_id: 'alice' } })
      console.log(`agent: ${result.messages.at(-1).content}`)
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      console.log(`refused: ${error.explain()}`)
    }
    const [status] = await quota.status({ user: 'alice' })
    console.log(`  (alice has used ${status.used} of ${status.allowed} tokens today)`)
  }
} finally {
  await local?.close()
}
