import { QuotaConfigError } from '../shared/errors.js'
import { compileModelGlobs } from '../shared/model-match.js'
import { type ModelPricing, type ModelRates, type PriceTable, ratePricing, ratesProblem } from './price-table.js'

/**
 * A price table you write: per-million-token US dollar rates by model name or glob (`my-llama-*`),
 * for negotiated prices, self-hosted or fine-tuned models. An exact name wins over a glob; globs are
 * tried in order. Put it before the default table to override it: `prices: [priceTable({...}), genaiPrices()]`.
 *
 * @example
 * priceTable({ 'gpt-4o': { input: 2, output: 8 }, 'llama-3-*': { input: 0.2, output: 0.6 } })
 */
export function priceTable(rates: Readonly<Record<string, ModelRates>>, options: { readonly name?: string } = {}): PriceTable {
  const name = options.name ?? 'overrides'
  const exact = new Map<string, ModelRates>()
  const globs: Array<{ matches: (model: string) => boolean; rates: ModelRates }> = []
  for (const [model, entry] of Object.entries(rates)) {
    const problem = ratesProblem(entry)
    if (problem)
      throw new QuotaConfigError({ code: 'InvalidConfiguration', field: `prices.${model}`, message: `Expected the price of ${model} to be ${problem}` })
    if (/[*?]/.test(model)) globs.push({ matches: compileModelGlobs([model]), rates: entry })
    else exact.set(model.toLowerCase(), entry)
  }
  return {
    name,
    pricing(model: string, at: number): ModelPricing | undefined {
      const entry = exact.get(model.toLowerCase()) ?? globs.find((glob) => glob.matches(model))?.rates
      return entry && ratePricing(entry, { table: name, model, pricedAt: new Date(at).toISOString() })
    },
  }
}
