// A process where @pydantic/genai-prices is not installed: a resolve hook refuses it, as Node does
// for a package missing from node_modules. Creates quotas with the built @tokenquota/core and prints
// what happened, as JSON. The hook runs in this thread (`registerHooks`, Node 22.15+; the tests run
// on Node 24): `register` would start a loader thread for it, a third of this process's CPU.
import { registerHooks } from 'node:module'

registerHooks({
  resolve(specifier, context, next) {
    if (specifier === '@pydantic/genai-prices') {
      throw Object.assign(new Error("Cannot find package '@pydantic/genai-prices'"), { code: 'ERR_MODULE_NOT_FOUND' })
    }
    return next(specifier, context)
  },
})

const { createTokenQuota, genaiPrices } = await import('@tokenquota/core')
const money = { name: 'org-daily-usd', identifier: 'org', count: 'usd', allow: 50, interval: 1, timeUnit: 'day' }
const tokens = { name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }
const outcome = {}
try {
  createTokenQuota({ policies: [money] })
  outcome.created = true
} catch (error) {
  Object.assign(outcome, { created: false, name: error.name, code: error.code, field: error.field, message: error.message })
}
createTokenQuota({ policies: [tokens] })
outcome.tokenPoliciesCreated = true
createTokenQuota({ policies: [money], prices: genaiPrices({ module: {} }) })
outcome.moduleGivenCreated = true
console.log(JSON.stringify(outcome))
