// The tokenquota demo. A chatbot serves three users on different plans under one org budget,
// through withTokenQuota() on the real `openai` client. It shows each user's usage against their
// limits, the org's money budget being spent (each call priced from @pydantic/genai-prices),
// soft-threshold warnings, refusals with their retry time, and fallbacks from gpt-4o to
// gpt-4o-mini; then a summary. Then one user runs out of her plan and into the prepaid credits she
// bought (credits-act.mjs). Embedded defaults: a local OpenAI-compatible endpoint and in-memory
// counters. With OPENAI_API_KEY (and OPENAI_BASE_URL) it calls a real endpoint; with REDIS_URL it
// counts on Redis.
import { createTokenQuota, MemoryStore, TokenQuotaExceededError } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { withTokenQuota } from '@tokenquota/openai'
import { Redis } from 'ioredis'
import OpenAI from 'openai'
import { startLocalOpenAI } from '../openai-chat/local-openai-server.mjs'
import { creditsAct } from './credits-act.mjs'

const local = process.env.OPENAI_API_KEY ? undefined : await startLocalOpenAI()
const redis = process.env.REDIS_URL ? new Redis(process.env.REDIS_URL) : undefined
const live = process.stdout.isTTY && !process.env.CI

const events = []
const quota = createTokenQuota({
  store: redis ? new RedisStore({ client: redis, prefix: `tokenquota-demo:${Date.now()}` }) : new MemoryStore(),
  policies: [
    { name: 'org-daily', allow: 9_000, interval: 1, timeUnit: 'day', thresholds: [{ at: 0.75, action: 'warn' }] },
    {
      name: 'user-daily',
      identifier: 'user',
      allow: { class: 'plan', counts: { premium: 5_000, standard: 2_000, free: 700 } },
      interval: 1,
      timeUnit: 'day',
      thresholds: [
        { at: 0.5, action: 'warn' },
        { at: 0.8, action: 'warn' },
      ],
    },
    // The big model has its own, smaller budget per user: when it is spent, calls fall back.
    { name: 'gpt-4o-daily', identifier: 'user', allow: 1_200, interval: 1, timeUnit: 'day', models: ['gpt-4o'] },
    // The org's money budget: every call priced at its model's rates, in US dollars.
    { name: 'org-monthly-usd', count: 'usd', allow: 0.01, interval: 1, timeUnit: 'month', thresholds: [{ at: 0.5, action: 'warn' }] },
  ],
  on: {
    threshold: (event) =>
      events.push(
        `⚠  ${event.identifier ?? 'org'} passed ${event.threshold.at * 100} % of ${event.policy} (${amount(event.used, event.unit)}/${amount(event.allowed, event.unit)})`,
      ),
    fallback: (event) => events.push(`↘  ${event.context.user}: ${event.error.policy} spent, ${event.from} → ${event.to}`),
  },
})
const client = withTokenQuota(local ? new OpenAI({ apiKey: 'local', baseURL: local.baseURL }) : new OpenAI(), {
  quota,
  fallback: { 'gpt-4o': 'gpt-4o-mini' },
})

const users = [
  { user: 'ada', plan: 'premium' },
  { user: 'bob', plan: 'standard' },
  { user: 'cyd', plan: 'free' },
]
const questions = ['How do token quotas work?', 'What happens when my budget runs out?', 'Why reserve before calling the model?', 'Can I see my usage?']
const system = {
  role: 'system',
  content:
    'You are the support assistant of a SaaS product. Answer briefly and precisely, in the language of the user. ' +
    'Cite the relevant documentation page when you can, never invent features, and say when you do not know. '.repeat(4),
}
// Each user's conversation grows, as in a real chat: every call sends the whole history.
const history = Object.fromEntries(users.map(({ user }) => [user, []]))
const totals = Object.fromEntries(users.map(({ user }) => [user, { answered: 0, refused: 0, onMini: 0 }]))

/** Tokens as a count, dollars with a sign. */
function amount(value, unit) {
  return unit === 'usd' ? `$${value.toFixed(4)}` : String(value)
}

function bar(used, allowed, width = 28) {
  const filled = allowed > 0 ? Math.min(width, Math.round((used / allowed) * width)) : width
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

async function ask({ user, plan }, round) {
  await quota.withContext({ user, plan }, async () => {
    const question = { role: 'user', content: questions[round % questions.length] }
    const params = { model: 'gpt-4o', messages: [system, ...history[user], question], max_completion_tokens: 120 }
    try {
      let answer = ''
      let model = ''
      if (round % 2 === 1) {
        for await (const chunk of await client.chat.completions.create({ ...params, stream: true })) {
          answer += chunk.choices[0]?.delta.content ?? ''
          model = chunk.model
        }
      } else {
        const completion = await client.chat.completions.create(params)
        answer = completion.choices[0].message.content ?? ''
        model = completion.model
      }
      history[user].push(question, { role: 'assistant', content: answer })
      totals[user].answered++
      if (model.startsWith('gpt-4o-mini')) totals[user].onMini++
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      totals[user].refused++
      // explain(): what the call needed (its prompt estimate + output cap), what was left, when to retry.
      events.push(`✗  ${user}: refused, ${error.explain()}; HTTP 429, Retry-After: ${error.toHeaders()['retry-after'] ?? '-'}`)
    }
  })
}

async function frame(round, rounds) {
  const lines = [
    `tokenquota demo — round ${round}/${rounds} — ${local ? 'local OpenAI-compatible endpoint' : 'real endpoint'}, ${redis ? 'Redis' : 'in-memory'} counters`,
    '',
  ]
  for (const { user, plan } of users) {
    const [, daily, big] = await quota.status({ user, plan }, { model: 'gpt-4o' })
    lines.push(`${user.padEnd(4)} ${plan.padEnd(8)} day    ${bar(daily.used, daily.allowed)} ${String(daily.used).padStart(5)} / ${daily.allowed}`)
    lines.push(`${''.padEnd(13)} gpt-4o ${bar(big.used, big.allowed)} ${String(big.used).padStart(5)} / ${big.allowed}`)
  }
  const [org, , , money] = await quota.status({ user: 'ada', plan: 'premium' })
  lines.push(`org           day    ${bar(org.used, org.allowed)} ${String(org.used).padStart(5)} / ${org.allowed}`)
  lines.push(`org           month  ${bar(money.used, money.allowed)} ${amount(money.used, 'usd')} / ${amount(money.allowed, 'usd')}`, '')
  // Live, the last few events stay on screen; in a log, each event is printed once.
  lines.push(...(live ? events.slice(-8) : events.slice(printed)))
  printed = events.length
  if (live) process.stdout.write(`\x1b[2J\x1b[H${lines.join('\n')}\n`)
  else console.log(`${lines.join('\n')}\n`)
}

const rounds = 12
let printed = 0
try {
  for (let round = 1; round <= rounds; round += 1) {
    const logged = events.length
    await Promise.all(users.map((user) => ask(user, round)))
    if (live || round === rounds || events.length > logged) await frame(round, rounds)
    if (live) await new Promise((resolve) => setTimeout(resolve, 250))
  }
  console.log('Summary')
  for (const { user, plan } of users) {
    const { answered, refused, onMini } = totals[user]
    const [, daily] = await quota.status({ user, plan })
    console.log(`  ${user} (${plan}): ${answered} answered (${onMini} by gpt-4o-mini), ${refused} refused, ${daily.used} tokens used of ${daily.allowed}`)
  }
  const [, , , money] = await quota.status({ user: 'ada', plan: 'premium' })
  console.log(`  org: ${amount(money.used, 'usd')} spent of its ${amount(money.allowed, 'usd')} monthly budget`)
  console.log('')
  await creditsAct({
    openai: () => (local ? new OpenAI({ apiKey: 'local', baseURL: local.baseURL }) : new OpenAI()),
    log: (line) => console.log(line),
    store: redis ? new RedisStore({ client: redis, prefix: `tokenquota-demo-credits:${Date.now()}` }) : new MemoryStore(),
  })
} finally {
  await quota.flush() // commits are written in the background: let them land before disconnecting
  await local?.close()
  redis?.disconnect()
}
