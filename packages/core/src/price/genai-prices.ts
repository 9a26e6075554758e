import { QuotaConfigError } from '../shared/errors.js'
import type { EstimateBound, NormalizedUsage } from '../shared/types.js'
import type { ModelPricing, PriceTable } from './price-table.js'

/** What we use of `@pydantic/genai-prices`. */
interface GenaiPricesModule {
  calcPrice(
    usage: Record<string, number | undefined>,
    modelId: string,
    options?: { providerId?: string; timestamp?: Date },
  ): { total_price: number; provider: { id: string }; model: { id: string } } | null
}

const maxCachedModels = 1000

/** The package's name, out of bundlers' sight: it is optional, and an edge bundle passes the module in. */
const packageName = '@pydantic/genai-prices'

/**
 * The default price table: `@pydantic/genai-prices` (MIT; input, output, cached read and write,
 * long-context tiers, dated price history), an optional peer dependency imported the first time a
 * money policy is used. Where a dynamic import cannot reach it (a bundled edge worker), import it
 * yourself and pass it as `module`. `providerId` pins the provider when model names are ambiguous.
 *
 * @example
 * import * as prices from '@pydantic/genai-prices'
 * createTokenQuota({ policies, prices: genaiPrices({ module: prices }) })
 */
export function genaiPrices(options: { readonly module?: unknown; readonly providerId?: string } = {}): PriceTable {
  let prices = options.module as GenaiPricesModule | undefined
  const byModel = new Map<string, ModelPricing | null>()
  return {
    name: '@pydantic/genai-prices',
    async load() {
      if (prices) return
      try {
        prices = (await import(/* @vite-ignore */ packageName)) as GenaiPricesModule
      } catch (error) {
        throw new QuotaConfigError({
          code: 'InvalidConfiguration',
          field: 'prices',
          message: 'A policy counts US dollars but @pydantic/genai-prices is not installed: `npm install @pydantic/genai-prices`, or pass `prices`',
          cause: error,
        })
      }
    },
    pricing(model, at) {
      if (!prices) throw new Error('genaiPrices() used before load()')
      const day = new Date(at).toISOString().slice(0, 10)
      const key = `${day} ${model}`
      let pricing = byModel.get(key)
      if (pricing === undefined) {
        pricing = pricingOf(prices, model, new Date(at), options.providerId) ?? null
        if (byModel.size >= maxCachedModels) byModel.clear()
        byModel.set(key, pricing)
      }
      return pricing ?? undefined
    },
  }
}

function pricingOf(prices: GenaiPricesModule, model: string, at: Date, providerId: string | undefined): ModelPricing | undefined {
  const price = (usage: Record<string, number>) => prices.calcPrice(usage, model, { timestamp: at, ...(providerId && { providerId }) })
  const probe = price({ input_tokens: 1, output_tokens: 1 })
  if (probe === null) return undefined
  return {
    source: { table: '@pydantic/genai-prices', provider: probe.provider.id, model: probe.model.id, pricedAt: at.toISOString() },
    cost: (usage: NormalizedUsage) =>
      price({
        input_tokens: usage.input,
        cache_read_tokens: Math.min(usage.cachedInput, usage.input),
        cache_write_tokens: Math.min(usage.cacheWrite, usage.input - Math.min(usage.cachedInput, usage.input)),
        output_tokens: usage.output,
      })!.total_price,
    // Every input token at the dearer of the plain and the cache-write rate; tiers rise with the prompt, so the bound's prompt prices highest.
    costBound: (bound: EstimateBound) =>
      Math.max(
        price({ input_tokens: bound.input, output_tokens: bound.output })!.total_price,
        price({ input_tokens: bound.input, cache_write_tokens: bound.input, output_tokens: bound.output })!.total_price,
      ),
  }
}
