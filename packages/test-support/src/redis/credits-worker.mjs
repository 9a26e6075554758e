// One app process for the multi-process credits tests, serving their scenarios (`serveScenarios`)
// on the built package as an app would use it: a quota with one balance policy ('credits', per
// user) on a RedisStore shared by every process, on keys of the scenario's own (`prefix`).
// mode 'spend': `calls` concurrent reservations of exactly `amount` credits (an exact estimate),
// each committed for exactly that; answers how many were admitted. mode 'topup': one top-up of
// `amount` under `key`; answers whether it applied. `now` is the engine's time (a fixed instant,
// never today's date).
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'
import { serveScenarios } from '../serve-scenarios.mjs'

const { REDIS_URL } = process.env
const alice = { user: 'alice' }

async function prepare({ prefix, mode, calls, amount, key, now }) {
  const client = new Redis(REDIS_URL)
  await client.ping()
  const quota = createTokenQuota({
    policies: [{ name: 'credits', type: 'balance', identifier: 'user' }],
    // Several processes hammer one redis-server beside other tests: a reply may take over a second.
    store: new RedisStore({ client, prefix, timeoutMs: 10_000 }),
    now: () => now,
  })

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

  return async () => {
    try {
      if (mode === 'topup') {
        const outcome = await quota.admin.topUp({ policy: 'credits', context: alice, amount, key })
        return { applied: outcome.applied }
      }
      const admitted = await Promise.all(Array.from({ length: calls }, spend))
      await quota.flush() // commits are written in the background: every one lands before the connection closes
      return { admitted: admitted.filter(Boolean).length }
    } finally {
      client.disconnect()
    }
  }
}

await serveScenarios(prepare)
