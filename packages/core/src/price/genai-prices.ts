import { QuotaConfigError } from '../shared/errors.js'
import type { EstimateBound, NormalizedUsage } from '../shared/types.js'
import type { ModelPricing, PriceTable } from './price-table.js'

/** What we use of `@pydantic/genai-prices`. */
interface GenaiPricesModule {
  calcPrice(
    usage: Record<string, number | undefined>,
    modelId: string,
    options?: { providerId?: string; timestamp?: Date },
  ): { total_price: number; provider: GenaiProvider; model: { id: string } } | null
}

/** A provider of the package's data. */
interface GenaiProvider {
  readonly id: string
}

/** Where the package found a model: what does not depend on the time of a call. */
interface Found {
  readonly provider: GenaiProvider
  readonly model: string
}

const maxCachedModels = 1000

/** The package's name, out of bundlers' sight: it is optional, and an edge bundle passes the module in. */
const packageName = '@pydantic/genai-prices'

const notInstalled = 'A policy counts US dollars but @pydantic/genai-prices is not installed: `npm install @pydantic/genai-prices`, or pass `prices`'

/**
 * The default price table: `@pydantic/genai-prices` (MIT; input, output, cached read and write,
 * one-hour cache writes, web searches, long-context tiers, dated and time-of-day prices), an
 * optional peer dependency imported the first time a money policy is used; that it is installed is
 * checked when the quota is created. Where a dynamic import cannot reach it (a bundled edge
 * worker), import it yourself and pass it as `module`. `providerId` pins the provider of every
 * model; without it a call's own provider (which adapters name) is tried first, then the model
 * name alone. Each charge is priced at its own time (DeepSeek's off-peak hours); only where a model
 * was found is cached.
 *
 * @example
 * import * as prices from '@pydantic/genai-prices'
 * createTokenQuota({ policies, prices: genaiPrices({ module: prices }) })
 */
export function genaiPrices(options: { readonly module?: unknown; readonly providerId?: string } = {}): PriceTable {
  let prices = options.module as GenaiPricesModule | undefined
  const found = new Map<string, Found | null>()
  const lookup = (model: string, at: Date, provider: string | undefined) => {
    const key = `${provider ?? ''}\n${model}`
    let where = found.get(key)
    if (where === undefined) {
      where = find(prices!, model, at, options.providerId, provider) ?? null
      if (found.size >= maxCachedModels) found.clear()
      found.set(key, where)
    }
    return where ?? undefined
  }
  return {
    name: '@pydantic/genai-prices',
    check() {
      if (!prices && isMissing(packageName)) throw new QuotaConfigError({ code: 'InvalidConfiguration', field: 'prices', message: notInstalled })
    },
    async load() {
      if (prices) return
      try {
        prices = (await import(/* @vite-ignore */ packageName)) as GenaiPricesModule
      } catch (error) {
        throw new QuotaConfigError({ code: 'InvalidConfiguration', field: 'prices', message: notInstalled, cause: error })
      }
    },
    pricing(model, at, provider) {
      if (!prices) throw new Error('genaiPrices() used before load()')
      const when = new Date(at)
      const where = lookup(model, when, provider)
      return where && pricingAt(prices, where, model, when)
    },
  }
}

/** Where the package prices `model`: under the pinned provider, else the call's, else by the model name alone. */
function find(prices: GenaiPricesModule, model: string, at: Date, pinned: string | undefined, provider: string | undefined): Found | undefined {
  const probe = (providerId: string | undefined) =>
    prices.calcPrice({ input_tokens: 1, output_tokens: 1 }, model, { timestamp: at, ...(providerId !== undefined && { providerId }) })
  const price = pinned !== undefined ? probe(pinned) : ((provider !== undefined ? probe(provider) : null) ?? probe(undefined))
  return price ? { provider: price.provider, model: price.model.id } : undefined
}

/** The pricing of a call at `at`: the package prices it at that moment (time-of-day and dated prices). */
function pricingAt(prices: GenaiPricesModule, found: Found, model: string, at: Date): ModelPricing {
  // By the provider's id: the package finds it faster than it takes a provider object back.
  const price = (usage: Record<string, number>) => prices.calcPrice(usage, model, { providerId: found.provider.id, timestamp: at })!.total_price
  return {
    source: { table: '@pydantic/genai-prices', provider: found.provider.id, model: found.model, pricedAt: at.toISOString() },
    cost: (usage: NormalizedUsage) => price(genaiUsage(usage)),
    // Every input token at the dearest of the plain and the cache-write rates; tiers rise with the prompt, so the bound's prompt prices highest.
    costBound: (bound: EstimateBound) =>
      Math.max(
        price({ input_tokens: bound.input, output_tokens: bound.output }),
        price({ input_tokens: bound.input, cache_write_tokens: bound.input, output_tokens: bound.output }),
        price({ input_tokens: bound.input, cache_write_tokens: bound.input, cache_write_1h_tokens: bound.input, output_tokens: bound.output }),
      ),
  }
}

/** Usage in the package's terms: cache reads and writes are parts of the input, one-hour writes a part of the writes. */
function genaiUsage(usage: NormalizedUsage): Record<string, number> {
  const cached = Math.min(usage.cachedInput, usage.input)
  const written = Math.min(usage.cacheWrite, usage.input - cached)
  const written1h = Math.min(usage.cacheWrite1h, written)
  return {
    input_tokens: usage.input,
    cache_read_tokens: cached,
    cache_write_tokens: written,
    ...(written1h > 0 && { cache_write_1h_tokens: written1h, cache_write_5m_tokens: written - written1h }),
    ...(usage.webSearches > 0 && { web_searches: usage.webSearches }),
    output_tokens: usage.output,
  }
}

/**
 * Whether `name` cannot be resolved from here, where that can be told at once (`import.meta.resolve`,
 * Node 20+, Deno, Bun); elsewhere (a CommonJS build, a bundle) it is left to `load()`.
 */
function isMissing(name: string): boolean {
  const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve
  if (typeof resolve !== 'function') return false
  try {
    resolve(name)
    return false
  } catch {
    return true
  }
}
