// Loads the built packages that claim Node 20 (core, LangChain handler, Gemini adapter) through their
// CommonJS exports and runs one reserve/commit/refusal.
const assert = require('node:assert/strict')
const { createTokenQuota, TokenQuotaExceededError } = require('@tokenquota/core')
const { TokenQuotaCallbackHandler } = require('@tokenquota/langchain')
const { withTokenQuota } = require('@tokenquota/gemini')
const { GoogleGenerativeAI } = require('@google/generative-ai')

async function main() {
  const quota = createTokenQuota({
    policies: [
      { name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', thresholds: [{ at: 0.5, action: 'throttle', minIntervalMs: 1 }] },
    ],
  })
  const lease = await quota.reserve({ user: 'alice' }, { estimate: 800 })
  await lease.commit({ input: 500, output: 100 })
  const refused = await quota.reserve({ user: 'alice' }, { estimate: 500 }).catch((error) => error)
  assert.ok(TokenQuotaExceededError.isInstance(refused), 'expected a refusal')
  assert.equal((await quota.status({ user: 'alice' }))[0].used, 600)
  assert.equal(new TokenQuotaCallbackHandler({ quota, context: { user: 'alice' } }).raiseError, true)
  assert.equal(typeof withTokenQuota(new GoogleGenerativeAI('key'), { quota }).getGenerativeModel({ model: 'gemini-1.5-flash' }).generateContent, 'function')
  console.log(`cjs ok on node ${process.version}`)
}
main().catch((error) => {
  console.error(error)
  process.exit(1)
})
