import { type ModelPricing, ratePricing } from '../price/price-table.js'
import { fail, isPlainObject } from './config-check.js'
import type { NormalizedPolicy, PolicyUnit } from './normalized-policy.js'
import type { CountMode, QuotaThreshold, TokenWeights, UnidentifiedPolicy } from './policy-types.js'

/** Checks `identifier`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeIdentifier(policy: string, identifier: unknown): NormalizedPolicy['identifier'] {
  if (identifier === undefined || typeof identifier === 'function') return identifier as NormalizedPolicy['identifier']
  if (typeof identifier === 'string' && identifier.length > 0) return identifier
  return fail('InvalidConfiguration', policy, 'identifier', 'a context key or a function of the context', identifier)
}

/** Checks `unidentified`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeUnidentified(policy: string | undefined, value: unknown, field: string): UnidentifiedPolicy {
  if (value === 'refuse') return value
  if (isPlainObject(value) && typeof value.bucket === 'string' && value.bucket.length > 0 && value.bucket.length <= 256) {
    return { bucket: value.bucket }
  }
  return fail('InvalidConfiguration', policy, field, "`'refuse'` or `{ bucket: string }`", value)
}

/** Checks `unpriced`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeUnpriced(policy: string, value: unknown, unit: PolicyUnit): ModelPricing | undefined {
  if (value === undefined) return undefined
  if (unit !== 'usd') fail('InvalidConfiguration', policy, 'unpriced', "absent: only a `count: 'usd'` policy prices calls", value)
  const rate = value as Partial<Record<'usdPerMillion' | 'input' | 'output', unknown>>
  const isRate = (number: unknown): number is number => typeof number === 'number' && Number.isFinite(number) && number >= 0
  const rates = !isPlainObject(value)
    ? undefined
    : isRate(rate.usdPerMillion) && Object.keys(value).length === 1
      ? { input: rate.usdPerMillion, output: rate.usdPerMillion }
      : isRate(rate.input) && isRate(rate.output) && Object.keys(value).length === 2
        ? { input: rate.input, output: rate.output }
        : undefined
  if (!rates) fail('InvalidConfiguration', policy, 'unpriced', '`{ usdPerMillion }` or `{ input, output }` (US dollars per million tokens)', value)
  return ratePricing(rates, { table: `unpriced rate of ${policy}`, model: '*', pricedAt: '' })
}

/** Checks `count`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeCount(policy: string, count: unknown): CountMode {
  if (count === 'total' || count === 'input' || count === 'output' || count === 'requests' || count === 'usd') return count
  if (isPlainObject(count) && Object.keys(count).length > 0) {
    for (const [kind, weight] of Object.entries(count)) {
      if (!['input', 'output', 'cachedInput', 'cacheWrite', 'reasoning'].includes(kind)) {
        fail('InvalidConfiguration', policy, `count.${kind}`, 'one of input, output, cachedInput, cacheWrite, reasoning', kind)
      }
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0 || weight > 1_000_000) {
        fail('InvalidConfiguration', policy, `count.${kind}`, 'a finite weight between 0 and 1,000,000', weight)
      }
    }
    return { ...(count as TokenWeights) }
  }
  return fail(
    'InvalidConfiguration',
    policy,
    'count',
    "`'total'`, `'input'`, `'output'`, `'requests'`, `'usd'` or weights like `{ input: 1, output: 4 }`",
    count,
  )
}

/** Checks `thresholds`; throws `QuotaConfigError` naming the policy and field. */
export function normalizeThresholds(policy: string, thresholds: unknown): readonly QuotaThreshold[] {
  if (!Array.isArray(thresholds)) fail('InvalidConfiguration', policy, 'thresholds', 'an array', thresholds)
  const seen = new Set<number>()
  const result = (thresholds as unknown[]).map((threshold, index) => {
    const field = `thresholds[${index}]`
    if (!isPlainObject(threshold)) fail('InvalidConfiguration', policy, field, '`{ at, action }`', threshold)
    const { at, action, minIntervalMs, channels } = threshold
    if (typeof at !== 'number' || !(at > 0 && at < 1)) {
      fail('InvalidConfiguration', policy, `${field}.at`, 'a fraction strictly between 0 and 1 (the hard limit is always 1)', at)
    }
    if (seen.has(at)) fail('InvalidConfiguration', policy, `${field}.at`, 'a level not already used by another threshold', at)
    seen.add(at)
    if (action !== 'warn' && action !== 'throttle') fail('InvalidConfiguration', policy, `${field}.action`, "`'warn'` or `'throttle'`", action)
    if (minIntervalMs !== undefined) {
      if (action !== 'throttle') fail('InvalidConfiguration', policy, `${field}.minIntervalMs`, 'absent on a `warn` threshold', minIntervalMs)
      const valid = typeof minIntervalMs === 'function' || (typeof minIntervalMs === 'number' && Number.isFinite(minIntervalMs) && minIntervalMs > 0)
      if (!valid) fail('InvalidConfiguration', policy, `${field}.minIntervalMs`, 'a positive number of ms or a function of the context', minIntervalMs)
    }
    if (channels !== undefined && (!Array.isArray(channels) || !channels.every((channel) => typeof channel === 'string'))) {
      fail('InvalidConfiguration', policy, `${field}.channels`, 'an array of strings', channels)
    }
    return Object.freeze({ ...threshold }) as unknown as QuotaThreshold
  })
  return Object.freeze(result.sort((a, b) => a.at - b.at))
}
