import { QuotaInputError } from './errors.js'
import type { EstimateBound, NormalizedUsage, TokenEstimate, Usage } from './types.js'

/** No single model call uses more tokens than this; a larger count is a bug or an attack. */
export const maxTokensPerCall = 100_000_000

/** Whether `value` is a token count: an integer from 0 to {@link maxTokensPerCall}. */
export function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= maxTokensPerCall
}

function tokenCount(value: unknown, field: string, code: 'InvalidUsage' | 'InvalidEstimate'): number {
  if (isTokenCount(value)) return value
  throw new QuotaInputError({
    code,
    message: `Expected \`${field}\` to be an integer from 0 to ${maxTokensPerCall}, got \`${String(value)}\` (${typeof value})`,
  })
}

function optionalCount(value: unknown, field: string): number | undefined {
  return value === undefined || value === null ? undefined : tokenCount(value, field, 'InvalidUsage')
}

/**
 * Validates provider usage. `total` defaults to `input + output` and may exceed it (Gemini counts
 * thinking and tool-use prompt tokens there) but never fall below it. Throws `QuotaInputError`
 * (`InvalidUsage`) for NaN, negative, fractional, absurd or inconsistent counts.
 */
export function normalizeUsage(usage: Usage): NormalizedUsage {
  if (typeof usage !== 'object' || usage === null) {
    throw new QuotaInputError({ code: 'InvalidUsage', message: `Expected usage to be an object like { input, output, total }, got ${String(usage)}` })
  }
  const input = optionalCount(usage.input, 'usage.input')
  const output = optionalCount(usage.output, 'usage.output')
  const total = optionalCount(usage.total, 'usage.total')
  if (input === undefined && output === undefined && total === undefined) {
    throw new QuotaInputError({ code: 'InvalidUsage', message: 'Usage has none of `input`, `output`, `total`: nothing to charge' })
  }
  const sum = (input ?? 0) + (output ?? 0)
  if (total !== undefined && total < sum) {
    throw new QuotaInputError({ code: 'InvalidUsage', message: `usage.total (${total}) is less than input + output (${sum})` })
  }
  const cachedInput = optionalCount(usage.cachedInput, 'usage.cachedInput') ?? 0
  const cacheWrite = optionalCount(usage.cacheWrite, 'usage.cacheWrite') ?? 0
  const cacheWrite1h = optionalCount(usage.cacheWrite1h, 'usage.cacheWrite1h') ?? 0
  const reasoning = optionalCount(usage.reasoning, 'usage.reasoning') ?? 0
  const webSearches = optionalCount(usage.webSearches, 'usage.webSearches') ?? 0
  // A total without a split: charge it all as output, the side that costs more.
  const resolvedOutput = output ?? (input === undefined ? total! : Math.max(0, (total ?? sum) - input))
  return { input: input ?? 0, output: resolvedOutput, total: total ?? sum, cachedInput, cacheWrite, cacheWrite1h, reasoning, webSearches }
}

/**
 * What the valid counts of a usage say was used at least, each count taken alone (an invalid one
 * counts 0): the floor of the estimate charged in place of a malformed usage, which is never charged
 * less than its valid parts (`{ input: 10, output: 5, total: 0 }` used at least 15 tokens).
 */
export function usageFloor(usage: Usage | undefined): { readonly input: number; readonly output: number; readonly total: number } {
  const valid = (value: unknown) => (isTokenCount(value) ? value : 0)
  const input = valid(usage?.input)
  const output = valid(usage?.output)
  return { input, output, total: Math.max(valid(usage?.total), input + output) }
}

/**
 * Validates an estimate. A number is a bound on the request's total tokens, which also bounds each
 * side; `{ input, output }` bounds each side and their sum.
 */
export function normalizeEstimate(estimate: number | TokenEstimate | undefined): EstimateBound {
  if (estimate === undefined) return { input: 0, output: 0, total: 0 }
  if (typeof estimate === 'number') {
    const total = tokenCount(estimate, 'estimate', 'InvalidEstimate')
    return { input: total, output: total, total }
  }
  if (typeof estimate !== 'object' || estimate === null) tokenCount(estimate, 'estimate', 'InvalidEstimate')
  const input = tokenCount(estimate.input, 'estimate.input', 'InvalidEstimate')
  const output = tokenCount(estimate.output, 'estimate.output', 'InvalidEstimate')
  return { input, output, total: input + output }
}

/** What each kind of token weighs (a policy's weights, or a price per token). */
export interface UsageWeights {
  readonly input: number
  readonly output: number
  readonly cachedInput: number
  readonly cacheWrite: number
  readonly reasoning: number
}

/** Usage weighted by kind: cache reads and writes are parts of `input`, reasoning a part of `output`. */
export function weightedUsage(usage: NormalizedUsage, weight: UsageWeights): number {
  const cached = Math.min(usage.cachedInput, usage.input)
  const written = Math.min(usage.cacheWrite, usage.input - cached)
  const reasoning = Math.min(usage.reasoning, usage.output)
  const input = (usage.input - cached - written) * weight.input + cached * weight.cachedInput + written * weight.cacheWrite
  return input + (usage.output - reasoning) * weight.output + reasoning * weight.reasoning
}
