// The scenario of an app process that dies mid-work (quota-worker.mjs, mode 'exit'): `concurrency`
// callers reserve, "call the model" (the provider counts the tokens), and commit without waiting;
// after `calls` calls the process exits at once, without quota.flush() — commits in flight and
// calls not yet committed are lost with it. Emits what the provider counted (`counted <tokens>`)
// just before: the run never answers.
import { createTokenQuota } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'

export function prepareExiting(client, { prefix, concurrency, calls: callsBeforeExit, leaseTtlMs }, emit) {
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow: 1_000_000, interval: 1, timeUnit: 'day' }],
    // Several processes hammer one redis-server, beside the runs of other tests: a reply may take over
    // the default second on a busy machine. The test asserts what is charged, not how fast.
    store: new RedisStore({ client, prefix, timeoutMs: 10_000 }),
    leaseTtlMs,
  })
  let providerCounted = 0
  let calls = 0

  async function caller() {
    for (;;) {
      const lease = await quota.reserve({ user: 'alice' }, { estimate: 100 })
      const total = 60 + Math.floor(Math.random() * 41)
      providerCounted += total // the provider has answered: these tokens are spent
      if (++calls >= callsBeforeExit) {
        emit(`counted ${providerCounted}`) // a write to a pipe is synchronous on Linux: it is out before the exit
        process.exit(0) // a deploy, a crash: nothing below runs
      }
      if (Math.random() < 0.5) void lease.commit({ total })
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 3))
    }
  }

  return () => Promise.all(Array.from({ length: concurrency }, caller))
}
