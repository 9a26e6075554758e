import { QuotaConfigError, type QuotaConfigErrorCode } from '../shared/errors.js'
import { compileModelGlobs } from '../shared/model-match.js'
import { weightedUsage } from '../shared/usage.js'
import { type ModelPricing, maxMoneyUnits, moneyCounterName, moneyUnits, moneyUnitsPerDollar, ratePricing } from '../price/price-table.js'
import type { CountMode, MaxTokensPerRequest, QuotaClassAllow, QuotaPolicy, QuotaThreshold, TokenWeights, UnidentifiedPolicy } from './policy-types.js'
import type { WindowSpec } from '../store/quota-store.js'
import type { EstimateBound, MaybePromise, NormalizedUsage, QuotaContext, QuotaMode, QuotaType, TimeUnit } from '../shared/types.js'
import { isTimeZone } from './time-zone.js'
import { addUnits, alignedWindow, calendarWindow, parseStartTime, rollingBuckets, rollingLengthMs } from './windows.js'

const quotaTypes: readonly QuotaType[] = ['default', 'calendar', 'flexi', 'rollingwindow']
const timeUnits: readonly TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year']
const modes: readonly QuotaMode[] = ['enforce', 'count-only', 'enforce-only']
const policyFields = new Set([
  'name',
  'type',
  'interval',
  'timeUnit',
  'startTime',
  'timeZone',
  'allow',
  'identifier',
  'unidentified',
  'count',
  'models',
  'mode',
  'sharedName',
  'thresholds',
  'maxTokensPerRequest',
  'unpriced',
])
/** Generous, but keeps window arithmetic far from floating-point trouble. */
const maxInterval = 1_000_000
/** Largest limit or cap accepted: beyond this, integer token arithmetic loses precision. */
export const maxTokenCount = Math.floor(Number.MAX_SAFE_INTEGER / 1024)

/** A validated, frozen policy with its behaviour compiled. */
export interface NormalizedPolicy {
  readonly name: string
  /** `sharedName` or `name`: policies with the same one share a counter. */
  readonly sharedName: string
  /** The counter's name in the store: `sharedName`, or for a money policy {@link moneyCounterName} of it. */
  readonly counterName: string
  readonly type: QuotaType
  readonly interval: number
  readonly timeUnit: TimeUnit
  readonly startTime: number | undefined
  readonly mode: QuotaMode
  readonly enforces: boolean
  readonly counts: boolean
  readonly allow: number | ((context: QuotaContext) => MaybePromise<number>) | NormalizedClassAllow
  readonly identifier: string | ((context: QuotaContext) => unknown) | undefined
  readonly unidentified: UnidentifiedPolicy
  readonly count: CountMode
  readonly matchesModel: (model: string | undefined) => boolean
  readonly hasModelFilter: boolean
  /** Sorted by `at`. */
  readonly thresholds: readonly QuotaThreshold[]
  readonly maxTokensPerRequest: Required<MaxTokensPerRequest> | undefined
  /** Where the counter lives at `now`. */
  window(now: number): WindowSpec
  /** What its counters hold: tokens (or weighted tokens), requests, or US dollars (in units of 1e-8). */
  readonly unit: PolicyUnit
  /** Counter units per reported unit: 100,000,000 for dollars (ten nano-dollars), else 1. */
  readonly scale: number
  /** `count: 'usd'`: the price of a model no table knows, if the policy names one. */
  readonly unpriced: ModelPricing | undefined
  /** Charge for real usage, in counter units. `pricing`: the model's, for a money policy (else its `unpriced` rate). */
  charge(usage: NormalizedUsage, pricing?: ModelPricing): number
  /** Upper bound of the charge for a request with this estimate, in counter units. */
  chargeBound(estimate: EstimateBound, pricing?: ModelPricing): number
}

/** What a policy's counters count. */
export type PolicyUnit = 'tokens' | 'requests' | 'usd'

export interface NormalizedClassAllow {
  readonly class: (context: QuotaContext) => unknown
  readonly counts: ReadonlyMap<string, number>
}

export function isClassAllow(allow: NormalizedPolicy['allow']): allow is NormalizedClassAllow {
  return typeof allow === 'object'
}

function describe(value: unknown): string {
  if (typeof value === 'function') return '[function] (function)'
  let shown: string
  try {
    shown = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value))
  } catch {
    shown = String(value)
  }
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`
  return `\`${shown}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
}

function fail(code: QuotaConfigErrorCode, policy: string | undefined, field: string, expected: string, value: unknown): never {
  throw new QuotaConfigError({ code, policy, field, message: `Expected \`${field}\` to be ${expected}, got ${describe(value)}` })
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= maxTokenCount
}

const namePattern = /^[A-Za-z0-9._:-]{1,128}$/

/** Validates one policy and compiles it. Throws `QuotaConfigError` naming the policy and field. */
export function normalizePolicy(config: QuotaPolicy, defaults: { unidentified: UnidentifiedPolicy }): NormalizedPolicy {
  if (!isPlainObject(config)) fail('InvalidConfiguration', undefined, 'policies[]', 'a policy object', config)
  const raw = config as unknown as Record<string, unknown>
  const name = policyName(raw)
  const { type, interval, timeUnit, startTime, timeZone } = normalizeWindow(name, raw)

  const mode = raw.mode ?? 'enforce'
  if (!modes.includes(mode as QuotaMode)) fail('InvalidConfiguration', name, 'mode', `one of ${modes.join(', ')}`, mode)

  const sharedName = raw.sharedName
  if (sharedName !== undefined && (typeof sharedName !== 'string' || !namePattern.test(sharedName))) {
    fail('InvalidConfiguration', name, 'sharedName', '1 to 128 letters, digits, `.`, `_`, `:` or `-`', sharedName)
  }

  const count = normalizeCount(name, raw.count ?? 'total')
  const unit: PolicyUnit = count === 'usd' ? 'usd' : count === 'requests' ? 'requests' : 'tokens'
  const scale = unit === 'usd' ? moneyUnitsPerDollar : 1
  const allow = normalizeAllow(name, raw.allow, scale)
  const identifier = normalizeIdentifier(name, raw.identifier)
  const unidentified = normalizeUnidentified(name, raw.unidentified ?? defaults.unidentified, 'unidentified')
  const unpriced = normalizeUnpriced(name, raw.unpriced, unit)
  if (unit === 'usd' && raw.maxTokensPerRequest !== undefined) {
    fail(
      'InvalidConfiguration',
      name,
      'maxTokensPerRequest',
      "absent on a `count: 'usd'` policy (cap tokens with a token policy beside it)",
      raw.maxTokensPerRequest,
    )
  }
  const models = raw.models
  if (models !== undefined && (!Array.isArray(models) || models.length === 0 || !models.every((glob) => typeof glob === 'string' && glob.length > 0))) {
    fail('InvalidConfiguration', name, 'models', 'a non-empty array of model-name globs', models)
  }
  const thresholds = normalizeThresholds(name, raw.thresholds ?? [])
  const maxTokensPerRequest = normalizeMaxTokens(name, raw.maxTokensPerRequest)

  const window = windowFunction(type, interval, timeUnit, startTime, timeZone)
  const matchesModel = models === undefined ? () => true : compileModelGlobs(models as string[])

  return Object.freeze({
    name,
    sharedName: (sharedName as string | undefined) ?? name,
    counterName: unit === 'usd' ? moneyCounterName((sharedName as string | undefined) ?? name) : ((sharedName as string | undefined) ?? name),
    type,
    interval,
    timeUnit,
    startTime,
    mode: mode as QuotaMode,
    enforces: mode !== 'count-only',
    counts: mode !== 'enforce-only',
    allow,
    identifier,
    unidentified,
    count,
    matchesModel,
    hasModelFilter: models !== undefined,
    thresholds,
    maxTokensPerRequest,
    window,
    unit,
    scale,
    unpriced,
    charge:
      count === 'usd'
        ? (usage: NormalizedUsage, pricing?: ModelPricing) => moneyUnits((pricing ?? unpriced)!.cost(usage))
        : (usage: NormalizedUsage) => chargeFor(count as TokenCountMode, usage),
    chargeBound:
      count === 'usd'
        ? (estimate: EstimateBound, pricing?: ModelPricing) => moneyUnits((pricing ?? unpriced)!.costBound(estimate))
        : (estimate: EstimateBound) => chargeBoundFor(count as TokenCountMode, estimate),
  })
}

/** The policy's name, checked, and its fields known. */
function policyName(raw: Record<string, unknown>): string {
  const name = raw.name
  if (typeof name !== 'string' || !namePattern.test(name)) {
    fail('InvalidConfiguration', typeof name === 'string' ? name : undefined, 'name', '1 to 128 letters, digits, `.`, `_`, `:` or `-`', name)
  }
  for (const key of Object.keys(raw)) {
    if (!policyFields.has(key)) {
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        policy: name,
        field: key,
        message: `Unknown field \`${key}\` (known: ${[...policyFields].join(', ')})`,
      })
    }
  }
  return name
}

/** `type`, `interval`, `timeUnit` and `startTime`, checked together. */
function normalizeWindow(
  name: string,
  raw: Record<string, unknown>,
): { type: QuotaType; interval: number; timeUnit: TimeUnit; startTime: number | undefined; timeZone: string | undefined } {
  const type = raw.type ?? 'default'
  if (!quotaTypes.includes(type as QuotaType)) fail('InvalidQuotaType', name, 'type', `one of ${quotaTypes.join(', ')}`, type)

  const interval = raw.interval
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1 || interval > maxInterval) {
    fail('InvalidQuotaInterval', name, 'interval', `a positive integer up to ${maxInterval}`, interval)
  }

  const timeUnit = raw.timeUnit
  if (!timeUnits.includes(timeUnit as TimeUnit)) fail('InvalidQuotaTimeUnit', name, 'timeUnit', `one of ${timeUnits.join(', ')}`, timeUnit)

  let startTime: number | undefined
  if (raw.startTime !== undefined) {
    if (type !== 'calendar') {
      throw new QuotaConfigError({
        code: 'StartTimeNotSupported',
        policy: name,
        field: 'startTime',
        message: `\`startTime\` applies only to type \`calendar\`, not \`${String(type)}\``,
      })
    }
    startTime = typeof raw.startTime === 'string' ? parseStartTime(raw.startTime) : undefined
    if (startTime === undefined) fail('InvalidStartTime', name, 'startTime', 'a UTC date and time `YYYY-MM-DD HH:mm:ss` from 1970 on', raw.startTime)
  } else if (type === 'calendar') {
    throw new QuotaConfigError({
      code: 'InvalidStartTime',
      policy: name,
      field: 'startTime',
      message: 'A `calendar` policy needs a `startTime` (`YYYY-MM-DD HH:mm:ss`, UTC)',
    })
  }

  return {
    type: type as QuotaType,
    interval: interval as number,
    timeUnit: timeUnit as TimeUnit,
    startTime,
    timeZone: normalizeTimeZone(name, type, raw.timeZone),
  }
}

function normalizeTimeZone(name: string, type: unknown, timeZone: unknown): string | undefined {
  if (timeZone === undefined) return undefined
  if (type !== 'default')
    fail('InvalidConfiguration', name, 'timeZone', `absent on a \`${String(type)}\` policy (it sets where \`default\` windows roll over)`, timeZone)
  if (!isTimeZone(timeZone)) fail('InvalidConfiguration', name, 'timeZone', 'an IANA time zone like `America/New_York`, or `UTC`', timeZone)
  return timeZone
}

function windowFunction(
  type: QuotaType,
  interval: number,
  timeUnit: TimeUnit,
  startTime: number | undefined,
  timeZone: string | undefined,
): (now: number) => WindowSpec {
  switch (type) {
    case 'default':
      return cachedFixedWindow((now) => alignedWindow(now, interval, timeUnit, timeZone))
    case 'calendar':
      return cachedFixedWindow((now) => calendarWindow(now, startTime!, interval, timeUnit))
    case 'flexi':
      return (now) => ({ kind: 'flexi', endIfStartedNow: addUnits(now, interval, timeUnit) })
    case 'rollingwindow': {
      const length = rollingLengthMs(interval, timeUnit)
      const spec: WindowSpec = { kind: 'rolling', length, bucket: length / rollingBuckets }
      return () => spec
    }
  }
}

/** Fixed windows change rarely: keep the last one while `now` is inside it (calendar math allocates). */
function cachedFixedWindow(compute: (now: number) => { start: number; end: number }): (now: number) => WindowSpec {
  let last: Extract<WindowSpec, { kind: 'fixed' }> | undefined
  return (now) => {
    if (last && now >= last.start && now < last.end) return last
    last = { kind: 'fixed', ...compute(now) }
    return last
  }
}

/** A limit in the policy's reported unit, in counter units; `undefined` when it is not one. */
export function scaledLimit(value: unknown, scale: number): number | undefined {
  if (scale === 1) return isTokenCount(value) ? value : undefined
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value * scale > maxMoneyUnits) return undefined
  return Math.round(value * scale)
}

function limitExpected(scale: number): string {
  return scale === 1 ? `a non-negative integer up to ${maxTokenCount}` : `a non-negative number of US dollars up to ${Math.floor(maxMoneyUnits / scale)}`
}

function normalizeAllow(policy: string, allow: unknown, scale: number): NormalizedPolicy['allow'] {
  if (typeof allow === 'number') {
    const limit = scaledLimit(allow, scale)
    if (limit === undefined) fail('InvalidConfiguration', policy, 'allow', limitExpected(scale), allow)
    return limit
  }
  if (typeof allow === 'function') return allow as (context: QuotaContext) => MaybePromise<number>
  if (isPlainObject(allow) && 'class' in allow && 'counts' in allow) {
    const { class: classOf, counts } = allow as unknown as QuotaClassAllow
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
    return { class: typeof classOf === 'string' ? (context) => context[classOf] : classOf, counts: table }
  }
  return fail('InvalidConfiguration', policy, 'allow', 'a non-negative integer, a function of the context, or `{ class, counts }`', allow)
}

function normalizeIdentifier(policy: string, identifier: unknown): NormalizedPolicy['identifier'] {
  if (identifier === undefined || typeof identifier === 'function') return identifier as NormalizedPolicy['identifier']
  if (typeof identifier === 'string' && identifier.length > 0) return identifier
  return fail('InvalidConfiguration', policy, 'identifier', 'a context key or a function of the context', identifier)
}

export function normalizeUnidentified(policy: string | undefined, value: unknown, field: string): UnidentifiedPolicy {
  if (value === 'refuse') return value
  if (isPlainObject(value) && typeof value.bucket === 'string' && value.bucket.length > 0 && value.bucket.length <= 256) {
    return { bucket: value.bucket }
  }
  return fail('InvalidConfiguration', policy, field, "`'refuse'` or `{ bucket: string }`", value)
}

function normalizeUnpriced(policy: string, value: unknown, unit: PolicyUnit): ModelPricing | undefined {
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

function normalizeCount(policy: string, count: unknown): CountMode {
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

function normalizeThresholds(policy: string, thresholds: unknown): readonly QuotaThreshold[] {
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

function normalizeMaxTokens(policy: string, value: unknown): Required<MaxTokensPerRequest> | undefined {
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

function weightsOf(weights: TokenWeights) {
  const input = weights.input ?? 0
  const output = weights.output ?? 0
  return { input, output, cachedInput: weights.cachedInput ?? input, cacheWrite: weights.cacheWrite ?? input, reasoning: weights.reasoning ?? output }
}

type TokenCountMode = Exclude<CountMode, 'usd'>

function chargeFor(count: TokenCountMode, usage: NormalizedUsage): number {
  switch (count) {
    case 'total':
      return usage.total
    case 'input':
      return usage.input
    case 'output':
      return usage.output
    case 'requests':
      return 1
    default: {
      const weight = weightsOf(count)
      return Math.ceil(weightedUsage(usage, weight))
    }
  }
}

function chargeBoundFor(count: TokenCountMode, estimate: EstimateBound): number {
  switch (count) {
    case 'total':
      return estimate.total
    case 'input':
      return estimate.input
    case 'output':
      return estimate.output
    case 'requests':
      return 1
    default: {
      const weight = weightsOf(count)
      const inputWeight = Math.max(weight.input, weight.cachedInput, weight.cacheWrite)
      const outputWeight = Math.max(weight.output, weight.reasoning)
      const perSide = estimate.input * inputWeight + estimate.output * outputWeight
      return Math.ceil(Math.min(perSide, estimate.total * Math.max(inputWeight, outputWeight)))
    }
  }
}
