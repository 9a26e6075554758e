// An OpenAI Agents SDK agent whose client is withTokenQuota(new OpenAI()): every model call of a
// tool-using run is charged to the user of the run, and a refusal reaches the caller. Runs against
// OPENAI_API_KEY when set, else against the local endpoint of examples/openai-chat (chat API).
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled, tool } from '@openai/agents'
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { withTokenQuota } from '@tokenquota/openai'
import OpenAI from 'openai'
import { z } from 'zod'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'

const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const quota = createTokenQuota({
  // A trial user's budget fits the agent's first model call but not its second.
  policies: [{ name: 'user-daily', identifier: 'user', allow: { class: 'plan', counts: { pro: 20_000, trial: 560 } }, interval: 1, timeUnit: 'day' }],
})
setDefaultOpenAIClient(withTokenQuota(local ? new OpenAI({ apiKey: 'local', baseURL: local.baseURL }) : new OpenAI(), { quota }))
if (local) {
  setOpenAIAPI('chat_completions') // the local endpoint speaks the chat API
  setTracingDisabled(true)
}

const weather = tool({
  name: 'get_weather',
  description: 'The current weather in a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => `18 °C and sunny in ${city}`,
})
const agent = new Agent({
  name: 'Weather',
  instructions: 'Answer questions about the weather.',
  model: process.env.OPENAI_MODEL ?? 'gpt-4.1-mini',
  tools: [weather],
  modelSettings: { maxTokens: 300 },
})

try {
  for (const [user, plan] of [
    ['alice', 'pro'],
    ['tim', 'trial'],
  ]) {
    try {
      const result = await quota.withContext({ user, plan }, () => run(agent, 'What is the weather in Paris?'))
      console.log(`${user} (${plan}): ${result.finalOutput}`)
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      console.log(`${user} (${plan}): refused, ${error.explain()}`)
    }
    const [status] = await quota.status({ user, plan })
    console.log(`  ${user} has used ${status.used} of ${status.allowed} tokens today`)
  }
} finally {
  await local?.close()
}
