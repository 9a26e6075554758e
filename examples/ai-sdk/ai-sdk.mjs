// tokenQuotaMiddleware() on a Vercel AI SDK model. Runs against OPENAI_BASE_URL / OPENAI_API_KEY
// when set, else against the local OpenAI-compatible endpoint of examples/openai-chat.
import { createOpenAI } from '@ai-sdk/openai'
import { tokenQuotaMiddleware } from '@tokenquota/ai-sdk'
import { createTokenQuota } from '@tokenquota/core'
import { generateText, stepCountIs, streamText, tool, wrapLanguageModel } from 'ai'
import { z } from 'zod'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'

const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const provider = local ? createOpenAI({ apiKey: 'local', baseURL: local.baseURL }) : createOpenAI()
const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 20_000, interval: 1, timeUnit: 'day' }] })
const model = wrapLanguageModel({ model: provider.chat(process.env.OPENAI_MODEL ?? 'gpt-4o-mini'), middleware: tokenQuotaMiddleware({ quota }) })
const used = async () => (await quota.status({ user: 'alice' }))[0].used

try {
  await quota.withContext({ user: 'alice' }, async () => {
    const { text } = await generateText({ model, prompt: 'Why per-user token quotas?', maxOutputTokens: 200 })
    console.log(`generateText: ${text}  (alice has used ${await used()} tokens)`)

    let streamed = ''
    for await (const delta of streamText({ model, prompt: 'And why reserve before the call?', maxOutputTokens: 200 }).textStream) streamed += delta
    console.log(`streamText: ${streamed}  (alice has used ${await used()} tokens)`)

    const weather = tool({
      description: 'The current weather in a city',
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => `18 °C and sunny in ${city}`,
    })
    const { text: answer, steps } = await generateText({
      model,
      prompt: 'Weather in Paris?',
      tools: { weather },
      stopWhen: stepCountIs(3),
      maxOutputTokens: 200,
    })
    console.log(`tool loop (${steps.length} steps): ${answer}  (alice has used ${await used()} tokens)`)
  })
} finally {
  await local?.close()
}
