import { maxMoneyUnits } from '../price/price-table.js'
import type { MaybePromise, QuotaContext } from '../shared/types.js'
import { fail, isPlainObject, isTokenCount, maxTokenCount } from './config-check.js'
import type { NormalizedClassAllow } from './normalized-policy.js'
import type { MaxTokensPerRequest, QuotaClassAllow } from './policy-types.js'

/** A limit in the policy's reported unit, in counter units; `undefined` when it is not one. */
export function scaledLimit(value: unknown, scale: number): number | undefined {
  if (scale === 1) return isTokenCount(value) ? value : undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value * scale > maxMoneyUnits) return undefined
  return Math.round(value * scale)
}

function limitExpected(scale: number): string {
  return scale === 1 ? `a non-negative integer up to ${maxTokenCount}` : `a non-negative number of US dollars up to ${Math.floor(maxMoneyUnits / scale)}`
}

/** Checks `allow`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeAllow(
  policy: string,
  allow: unknown,
  scale: number,
): number | ((context: QuotaContext) => MaybePromise<number>) | NormalizedClassAllow {
  if (typeof allow === 'number') {
    const limit = scaledLimit(allow, scale)
    if (limit === undefined) fail('InvalidConfiguration', policy, 'allow', limitExpected(scale), allow)
    return limit
  }
  if (typeof allow === 'function') return allow as (context: QuotaContext) => MaybePromise<number>
  if (isPlainObject(allow) && 'class' in allow && 'counts' in allow) {
    const { class: classOf, counts, shareCounter = false } = allow as unknown as QuotaClassAllow
    if (typeof classOf !== 'function' && (typeof classOf !== 'string' || classOf.length === 0)) {
      fail('InvalidConfiguration', policy, 'allow.class', 'a context key or a function of the context', classOf)
    }
    if (!isPlainObject(counts) || Object.keys(counts).length === 0) fail('InvalidConfiguration', policy, 'allow.counts', 'an object of class → limit', counts)
    const table = new Map<string, number>()
    for (const [className, value] of Object.entries(counts)) {
      const limit = scaledLimit(value, scale)
      if (limit === undefined) fail('InvalidConfiguration', policy, `allow.counts.${className}`, limitExpected(scale), value)
      table.set(className, limit)
    }
    if (typeof shareCounter !== 'boolean') fail('InvalidConfiguration', policy, 'allow.shareCounter', '`true` or `false`', shareCounter)
    return { class: typeof classOf === 'string' ? (context) => context[classOf] : classOf, counts: table, shareCounter }
  }
  return fail('InvalidConfiguration', policy, 'allow', 'a non-negative integer, a function of the context, or `{ class, counts }`', allow)
}

/** Checks `maxTokensPerRequest`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeMaxTokens(policy: string, value: unknown): Required<MaxTokensPerRequest> | undefined {
  if (value === undefined) return undefined
  const options = typeof value === 'number' ? { limit: value } : value
  if (!isPlainObject(options)) fail('InvalidConfiguration', policy, 'maxTokensPerRequest', 'a positive integer or `{ limit, action }`', value)
  const { limit, action = 'refuse' } = options
  if (typeof limit !== 'function' && !(isTokenCount(limit) && limit > 0)) {
    fail('InvalidConfiguration', policy, 'maxTokensPerRequest.limit', 'a positive integer or a function of the context', limit)
  }
  if (action !== 'refuse' && action !== 'clamp') fail('InvalidConfiguration', policy, 'maxTokensPerRequest.action', "`'refuse'` or `'clamp'`", action)
  return { limit: limit as Required<MaxTokensPerRequest>['limit'], action }
}
