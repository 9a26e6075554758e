// One app process for the multi-process credits test, on the built package as an app would use it:
// a quota with one balance policy ('credits', per user) on a RedisStore shared by every process.
// MODE=spend: CALLS concurrent reservations of exactly AMOUNT credits (an exact estimate), each
// committed for exactly that; prints how many were admitted. MODE=topup: one top-up of AMOUNT under
// KEY; prints whether it applied. NOW is the engine's time (a fixed instant, never today's date).
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'

const { REDIS_URL, PREFIX, MODE, CALLS, AMOUNT, KEY, NOW } = process.env
const client = new Redis(REDIS_URL)
const quota = createTokenQuota({
  policies: [{ name: 'credits', type: 'balance', identifier: 'user' }],
  // Several processes hammer one redis-server beside other tests: a reply may take over a second.
  store: new RedisStore({ client, prefix: PREFIX, timeoutMs: 10_000 }),
  now: () => Number(NOW),
})
const alice = { user: 'alice' }
const amount = Number(AMOUNT)

async function spend() {
  try {
    const lease = await quota.reserve(alice, { estimate: amount })
    await lease.commit({ total: amount })
    return true
  } catch (error) {
    if (TokenQuotaExceededError.isInstance(error) && error.code === 'CreditsExhausted') return false
    throw error
  }
}

// Every process starts at the same moment (a start gate in Redis), so they really compete.
const gate = client.duplicate()
await client.incr(`${PREFIX}:ready`)
await gate.blpop(`${PREFIX}:go`, 0)
gate.disconnect()
if (MODE === 'topup') {
  const outcome = await quota.admin.topUp({ policy: 'credits', context: alice, amount, key: KEY })
  console.log(JSON.stringify({ applied: outcome.applied }))
} else {
  const admitted = await Promise.all(Array.from({ length: Number(CALLS) }, spend))
  await quota.flush() // commits are written in the background: every one lands before the connection closes
  console.log(JSON.stringify({ admitted: admitted.filter(Boolean).length }))
}
client.disconnect()
