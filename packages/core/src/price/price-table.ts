import type { EstimateBound, NormalizedUsage } from '../shared/types.js'
import { weightedUsage } from '../shared/usage.js'

/**
 * Money counters hold integers of ten nano-dollars (1e-8 US dollar): a charge is within 10 n$ of
 * its table price. Earlier versions counted micro-dollars, under other counter names (see
 * {@link moneyCounterName}).
 */
export const moneyUnitsPerDollar = 100_000_000

/**
 * The largest money limit, in counter units: 2^50 (US$ 11,258,999.07), so a counter stays an exact
 * integer (below 2^53) with seven times its limit in holds and overshoot.
 */
export const maxMoneyUnits = 2 ** 50

/**
 * Dollars to money counter units, rounded up (a charge never rounds to free), ignoring floating-point
 * dust: a millionth of a unit, and a few ulps of the amount (949.7433 $ is 94974330000.00002 units).
 * Twin: `countedPrice` in test-support.
 */
export function moneyUnits(usd: number): number {
  const units = usd * moneyUnitsPerDollar
  return Math.max(0, Math.ceil(units - 1e-6 - units * 4 * Number.EPSILON))
}

/**
 * A money policy's counter name in the stores: its name and `#usd-e8` (units of 1e-8 dollar). The
 * micro-dollar counters of earlier versions (under the bare name) are not read as ten nano-dollar
 * ones: after an upgrade a money counter starts the current window at zero, and money overrides
 * (`set`, `grant`) are set again. `#` never occurs in a policy name, so no other counter has it.
 */
export function moneyCounterName(name: string): string {
  return `${name}#usd-e8`
}

/** Which price a charge used, so a report can be re-priced later. */
export interface PriceSource {
  /** The table: `@pydantic/genai-prices`, `litellm`, `overrides`, or a policy's `unpriced` rate. */
  readonly table: string
  /** The provider the table priced the model under, when it says. */
  readonly provider?: string
  /** The model as the table knows it (a dated snapshot resolves to its family, e.g. `gpt-4o`). */
  readonly model: string
  /** The moment priced (tables keep dated price history), ISO 8601. */
  readonly pricedAt: string
}

/** What one model costs, in US dollars, by one table's rates. */
export interface ModelPricing {
  /** The price of real usage: cached input at its cached rate, reasoning at its own rate or the output rate. */
  cost(usage: NormalizedUsage): number
  /** The most a request within `bound` can cost: each input token at the dearest input rate, each output token at the dearest output rate. */
  costBound(bound: EstimateBound): number
  readonly source: PriceSource
}

/** A source of model prices: the default table, an override table, LiteLLM's file, your own. */
export interface PriceTable {
  /** For messages. */
  readonly name: string
  /** Makes the table ready (e.g. imports the package that holds it); awaited before the first money charge. */
  load?(): Promise<void>
  /**
   * Checks at once, when the quota is created, what `load()` would fail on later (e.g. a package
   * that is not installed). Throws `QuotaConfigError`.
   */
  check?(): void
  /**
   * The model's pricing at `at` (epoch ms), or `undefined` when the table has no price for it.
   * `provider`: who serves the call (`openai`, `anthropic`, …), when the caller knows.
   */
  pricing(model: string, at: number, provider?: string): ModelPricing | undefined
}

/** Per-million-token rates in US dollars, as price lists write them. */
export interface ModelRates {
  readonly input: number
  readonly output: number
  /** Cached prompt tokens. @default input */
  readonly cachedInput?: number
  /** Prompt tokens written to the provider's cache. @default input */
  readonly cacheWrite?: number
  /** Reasoning / thinking tokens. @default output */
  readonly reasoning?: number
  /** Prompt tokens written to a one-hour cache (Anthropic). @default cacheWrite */
  readonly cacheWrite1h?: number
  /** US dollars per thousand web searches. @default 0 */
  readonly webSearches?: number
}

/** A pricing from flat per-million rates. */
export function ratePricing(rates: ModelRates, source: PriceSource): ModelPricing {
  const perToken = {
    input: rates.input / 1e6,
    output: rates.output / 1e6,
    cachedInput: (rates.cachedInput ?? rates.input) / 1e6,
    cacheWrite: (rates.cacheWrite ?? rates.input) / 1e6,
    reasoning: (rates.reasoning ?? rates.output) / 1e6,
  }
  const cacheWrite1h = (rates.cacheWrite1h ?? rates.cacheWrite ?? rates.input) / 1e6
  const perSearch = (rates.webSearches ?? 0) / 1000
  return {
    source,
    cost(usage) {
      const written1h = Math.min(usage.cacheWrite1h, usage.cacheWrite, usage.input - Math.min(usage.cachedInput, usage.input))
      return weightedUsage(usage, perToken) + Math.max(0, written1h) * (cacheWrite1h - perToken.cacheWrite) + usage.webSearches * perSearch
    },
    costBound(bound) {
      const input = Math.max(perToken.input, perToken.cachedInput, perToken.cacheWrite, cacheWrite1h)
      const output = Math.max(perToken.output, perToken.reasoning)
      return Math.min(bound.input * input + bound.output * output, bound.total * Math.max(input, output))
    },
  }
}

const rateKinds: readonly string[] = ['input', 'output', 'cachedInput', 'cacheWrite', 'reasoning', 'cacheWrite1h', 'webSearches']

/** Checks a rates object; the message names what is wrong. */
export function ratesProblem(rates: unknown): string | undefined {
  if (typeof rates !== 'object' || rates === null || Array.isArray(rates)) return 'an object like { input: 2.5, output: 10 } (US dollars per million tokens)'
  for (const key of Object.keys(rates)) if (!rateKinds.includes(key)) return `only ${rateKinds.join(', ')} (found ${key})`
  for (const key of rateKinds) {
    const value = (rates as Record<string, unknown>)[key]
    if (value === undefined && key !== 'input' && key !== 'output') continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
      return `\`${key}\` a non-negative number of US dollars per ${key === 'webSearches' ? 'thousand searches' : 'million tokens'}`
  }
  return undefined
}
