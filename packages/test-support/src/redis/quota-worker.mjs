// One app process for the multi-process test: CONCURRENCY parallel callers for one user, each
// reserving, "calling the model", committing a real usage below the reservation, and retrying
// after a refusal until refusals keep coming. Uses the built package, as an app would.
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'

const { REDIS_URL, PREFIX, CONCURRENCY, ALLOW, START_AT } = process.env
const client = new Redis(REDIS_URL)
const quota = createTokenQuota({
  policies: [{ name: 'user-daily', identifier: 'user', allow: Number(ALLOW), interval: 1, timeUnit: 'day' }],
  store: new RedisStore({ client, prefix: PREFIX }),
})
let committed = 0
let calls = 0

async function caller() {
  let refusals = 0
  while (refusals < 20) {
    const estimate = 100
    try {
      const lease = await quota.reserve({ user: 'alice' }, { estimate })
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
      const total = 60 + Math.floor(Math.random() * 41)
      await lease.commit({ total })
      committed += total
      calls += 1
      refusals = 0
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      refusals += 1
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 5))
    }
  }
}

// Every process starts at the same moment, so they really compete.
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(START_AT) - Date.now())))
await Promise.all(Array.from({ length: Number(CONCURRENCY) }, caller))
await quota.flush() // commits are written in the background: every one lands before the connection closes
console.log(JSON.stringify({ committed, calls }))
client.disconnect()
