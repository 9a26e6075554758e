// One app process that dies mid-work: CONCURRENCY callers reserve, "call the model" (the
// provider counts the tokens), and commit without waiting; after CALLS calls the process exits at
// once, without quota.flush() — commits in flight and calls not yet committed are lost with it.
// Prints what the provider counted. Uses the built package, as an app would.
import { createTokenQuota } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'

const { REDIS_URL, PREFIX, CONCURRENCY, CALLS, LEASE_TTL_MS } = process.env
const client = new Redis(REDIS_URL)
const quota = createTokenQuota({
  policies: [{ name: 'user-daily', identifier: 'user', allow: 1_000_000, interval: 1, timeUnit: 'day' }],
  // Several processes hammer one redis-server, beside the runs of other tests: a reply may take over
  // the default second on a busy machine. The test asserts what is charged, not how fast.
  store: new RedisStore({ client, prefix: PREFIX, timeoutMs: 10_000 }),
  leaseTtlMs: Number(LEASE_TTL_MS),
})
let providerCounted = 0
let calls = 0

async function caller() {
  for (;;) {
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 100 })
    const total = 60 + Math.floor(Math.random() * 41)
    providerCounted += total // the provider has answered: these tokens are spent
    if (++calls >= Number(CALLS)) {
      process.stdout.write(JSON.stringify({ providerCounted, calls }))
      process.exit(0) // a deploy, a crash: nothing below runs
    }
    if (Math.random() < 0.5) void lease.commit({ total })
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
  }
}

await Promise.all(Array.from({ length: Number(CONCURRENCY) }, caller))
