// withTokenQuota() on the real `openai` client. Runs against OPENAI_BASE_URL / OPENAI_API_KEY when
// set (any OpenAI-compatible endpoint), otherwise against a local endpoint started here.
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { withTokenQuota } from '@tokenquota/openai'
import OpenAI from 'openai'
import { startLocalOpenAI } from './local-openai-server.mjs'

const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const model = process.env.OPENAI_MODEL ?? 'gpt-4o'
const cheaper = process.env.OPENAI_FALLBACK_MODEL ?? 'gpt-4o-mini'

const quota = createTokenQuota({
  policies: [
    // Each user may spend 300 tokens a day on the big model, and 5,000 on the cheaper one. Every call
    // reserves its prompt plus max_completion_tokens (256), so the big model runs out quickly.
    { name: 'big-model-daily', identifier: 'user', allow: 300, interval: 1, timeUnit: 'day', models: [model] },
    { name: 'cheap-model-daily', identifier: 'user', allow: 5_000, interval: 1, timeUnit: 'day', models: [cheaper] },
  ],
  on: {
    fallback: (event) => console.log(`  ↘ ${event.error.policy} is spent: ${event.from} → ${event.to}`),
  },
})
const client = withTokenQuota(local ? new OpenAI({ apiKey: 'local', baseURL: local.baseURL }) : new OpenAI(), {
  quota,
  fallback: { [model]: cheaper },
})

async function ask(user, question, { stream = false } = {}) {
  return quota.withContext({ user }, async () => {
    const params = { model, messages: [{ role: 'user', content: question }], max_completion_tokens: 256 }
    if (!stream) {
      const completion = await client.chat.completions.create(params)
      return `${completion.model}: ${completion.choices[0].message.content}`
    }
    let text = ''
    for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) text += chunk.choices[0]?.delta.content ?? ''
    return `(streamed) ${text}`
  })
}

console.log(`Endpoint: ${local ? `${local.baseURL} (local)` : (process.env.OPENAI_BASE_URL ?? 'api.openai.com')}`)
try {
  for (let turn = 1; turn <= 4; turn += 1) {
    console.log(`alice, turn ${turn}`)
    console.log(`  ${await ask('alice', 'Why do chatbots need per-user token quotas?', { stream: turn % 2 === 0 })}`)
  }
  console.log('bob, turn 1')
  console.log(`  ${await ask('bob', 'What is a reservation?')}`)
  for (const user of ['alice', 'bob']) {
    for (const entry of await quota.status({ user })) console.log(`${user} ${entry.name}: ${entry.used}/${entry.allowed} used`)
  }
} catch (error) {
  if (!TokenQuotaExceededError.isInstance(error)) throw error
  console.log(`refused, ${error.explain()}`)
} finally {
  await local?.close()
}
