// Loads the built packages that claim Node 20 (core, the LangChain handler, the Gemini adapter with
// @google/generative-ai) through their ESM exports and runs one reserve/commit/refusal.
import assert from 'node:assert/strict'
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { GoogleGenerativeAI } from '@google/generative-ai'
import { withTokenQuota } from '@tokenquota/gemini'
import { TokenQuotaCallbackHandler } from '@tokenquota/langchain'

const quota = createTokenQuota({
  policies: [
    { name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', thresholds: [{ at: 0.5, action: 'throttle', minIntervalMs: 1 }] },
  ],
})
const lease = await quota.withContext({ user: 'alice' }, () => quota.reserve(undefined, { estimate: 800 }))
await lease.commit({ input: 500, output: 100 })
const refused = await quota.reserve({ user: 'alice' }, { estimate: 500 }).catch((error) => error)
assert.ok(TokenQuotaExceededError.isInstance(refused), 'expected a refusal')
assert.equal((await quota.status({ user: 'alice' }))[0].used, 600)
assert.equal(new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' } }).raiseError, true)
assert.equal(typeof withTokenQuota(new GoogleGenerativeAI('key'), { quota }).getGenerativeModel({ model: 'gemini-1.5-flash' }).generateContent, 'function')
console.log(`esm ok on node ${process.version}`)
