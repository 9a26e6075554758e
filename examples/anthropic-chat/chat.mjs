// withTokenQuota() on the Anthropic SDK. Alice chats with a long, cached system prompt: the cache
// write and reads are charged at their own rates on a dollar budget, and her Opus budget in tokens
// falls back to Haiku when it is spent. Runs against Anthropic with ANTHROPIC_API_KEY, else against
// a local Anthropic-compatible endpoint.
import Anthropic from '@anthropic-ai/sdk'
import { withTokenQuota } from '@tokenquota/anthropic'
import { createTokenQuota } from '@tokenquota/core'
import { startLocalAnthropic } from './local-anthropic-server.mjs'

const local = process.env.ANTHROPIC_API_KEY ? undefined : await startLocalAnthropic()
const quota = createTokenQuota({
  policies: [
    { name: 'opus-daily', identifier: 'user', models: ['claude-opus-*'], allow: 3000, interval: 1, timeUnit: 'day' },
    { name: 'user-monthly-usd', identifier: 'user', count: 'usd', allow: 5, interval: 1, timeUnit: 'month' },
  ],
  on: { fallback: (event) => console.log(`  ↘ ${event.error.policy} is spent: ${event.from} → ${event.to}`) },
})
const client = withTokenQuota(new Anthropic({ apiKey: process.env.ANTHROPIC_API_KEY ?? 'sk-ant-local', baseURL: local?.baseURL }), {
  quota,
  fallback: { 'claude-opus-4-8': 'claude-haiku-4-5' },
})

const handbook = 'You are the support assistant of a bicycle shop. '.repeat(120)
const system = [{ type: 'text', text: handbook, cache_control: { type: 'ephemeral' } }]
const messages = []
console.log(`Anthropic ${local ? '(local)' : ''}: alice asks five questions`)
for (const question of ['Do you fix brakes?', 'How long does it take?', 'And gears?', 'Opening hours?', 'Thanks!']) {
  messages.push({ role: 'user', content: question })
  const request = { model: 'claude-opus-4-8', max_tokens: 400, system, messages }
  // Plain calls, and one stream through messages.stream().
  const message = await quota.withContext({ user: 'alice' }, async () =>
    question === 'And gears?' ? client.messages.stream(request).finalMessage() : client.messages.create(request),
  )
  const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')
  messages.push({ role: 'assistant', content: text })
  const { input_tokens, cache_creation_input_tokens, cache_read_input_tokens, output_tokens } = message.usage
  console.log(
    `${message.model}: ${text}  [input ${input_tokens}, cache write ${cache_creation_input_tokens}, cache read ${cache_read_input_tokens}, output ${output_tokens}]`,
  )
}
for (const policy of await quota.status({ user: 'alice', model: 'claude-opus-4-8' })) {
  console.log(`alice ${policy.name}: ${policy.used}/${policy.allowed} ${policy.unit === 'usd' ? 'USD' : 'tokens'} used`)
}
await local?.close()
