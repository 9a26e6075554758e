// Loads the built @tokenquota/core (and the LangChain handler, which claims the same Node floor)
// through their ESM exports and runs one reserve/commit/refusal.
import assert from 'node:assert/strict'
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { TokenQuotaCallbackHandler } from '@tokenquota/langchain'

const quota = createTokenQuota({
  policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', thresholds: [{ at: 0.5, action: 'throttle', minIntervalMs: 1 }] }],
})
const lease = await quota.withContext({ user: 'alice' }, () => quota.reserve(undefined, { estimate: 800 }))
await lease.commit({ input: 500, output: 100 })
const refused = await quota.reserve({ user: 'alice' }, { estimate: 500 }).catch((error) => error)
assert.ok(TokenQuotaExceededError.isInstance(refused), 'expected a refusal')
assert.equal((await quota.status({ user: 'alice' }))[0].used, 600)
assert.equal(new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' } }).raiseError, true)
console.log(`esm ok on node ${process.version}`)
