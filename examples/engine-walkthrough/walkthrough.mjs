// A simulated day of a chatbot with three users on different plans and one org budget, run on the
// quota engine alone (no model, no API key, no Redis). The clock is simulated, so it takes a second.
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { createFakeClock } from '@tokenquota/core/testing'

const clock = createFakeClock('2026-03-14T08:00:00Z')
const log = []
const quota = createTokenQuota({
  now: clock.now,
  policies: [
    { name: 'org-daily', allow: 45_000, interval: 1, timeUnit: 'day', thresholds: [{ at: 0.75, action: 'warn' }] },
    {
      name: 'user-daily',
      identifier: 'user',
      allow: { class: 'plan', counts: { premium: 30_000, standard: 12_000, free: 4_000 } },
      interval: 1,
      timeUnit: 'day',
      thresholds: [{ at: 0.8, action: 'warn' }],
    },
    { name: 'user-burst', type: 'rollingwindow', identifier: 'user', allow: 5_000, interval: 30, timeUnit: 'minute' },
  ],
  on: {
    threshold: (event) =>
      log.push(`  ⚠ ${event.policy} for ${event.identifier ?? 'everyone'} passed ${event.threshold.at * 100}% (${event.used}/${event.allowed})`),
  },
})

const users = [
  { user: 'ada', plan: 'premium', callsPerHour: 5, promptTokens: 900, answerTokens: 700 },
  { user: 'bob', plan: 'standard', callsPerHour: 3, promptTokens: 600, answerTokens: 500 },
  { user: 'cyd', plan: 'free', callsPerHour: 2, promptTokens: 500, answerTokens: 400 },
]
const totals = Object.fromEntries(users.map(({ user }) => [user, { calls: 0, refused: 0, tokens: 0 }]))
const refusals = new Map()

function bar(used, allowed, width = 24) {
  const filled = Math.min(width, Math.round((used / allowed) * width))
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

async function chat({ user, plan, promptTokens, answerTokens }) {
  await quota.withContext({ user, plan }, async () => {
    try {
      const lease = await quota.reserve(undefined, { estimate: { input: promptTokens, output: answerTokens + 300 }, model: 'gpt-4o' })
      // The model answers with a little less than the output budget it was given.
      await lease.commit({ input: promptTokens, output: answerTokens })
      totals[user].calls += 1
      totals[user].tokens += promptTokens + answerTokens
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      totals[user].refused += 1
      // explain(): what the call needed (prompt + output budget), what was left, when to retry.
      const key = `${user} by ${error.policy}`
      const seen = refusals.get(key)
      refusals.set(key, { user, count: (seen?.count ?? 0) + 1, detail: seen?.detail ?? error.explain() })
    }
  })
}

console.log('A simulated day: ada (premium), bob (standard) and cyd (free) chat; the org has one daily budget.')
for (let hour = 8; hour < 15; hour += 1) {
  for (let slot = 0; slot < 6; slot += 1) {
    for (const user of users) if (slot < user.callsPerHour) await chat(user)
    clock.advance(10 * 60_000)
  }
  console.log(`\n${String(hour).padStart(2, '0')}:00–${String(hour + 1).padStart(2, '0')}:00`)
  for (const line of log.splice(0)) console.log(line)
  for (const { user, count, detail } of refusals.values()) console.log(`  ✗ ${user}: refused ${count}×, ${detail}`)
  refusals.clear()
  for (const { user, plan } of users) {
    const [, daily] = await quota.status({ user, plan })
    console.log(`  ${user.padEnd(4)} ${plan.padEnd(8)} ${bar(daily.used, daily.allowed)} ${String(daily.used).padStart(6)} / ${daily.allowed}`)
  }
  const [org] = await quota.status({ user: 'ada', plan: 'premium' })
  console.log(`  org           ${bar(org.used, org.allowed)} ${String(org.used).padStart(6)} / ${org.allowed}`)
}

console.log('\nSummary')
for (const { user, plan } of users) {
  const { calls, refused, tokens } = totals[user]
  console.log(`  ${user} (${plan}): ${calls} answered (${tokens} tokens), ${refused} refused`)
}
