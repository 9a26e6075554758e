import type { ModelRates, PriceTable } from './price-table.js'
import { priceTable } from './rates-table.js'

/** One entry of LiteLLM's `model_prices_and_context_window.json` (the fields we read; costs are US dollars per token). */
export interface LiteLLMPriceEntry {
  readonly input_cost_per_token?: number
  readonly output_cost_per_token?: number
  readonly cache_read_input_token_cost?: number
  readonly cache_creation_input_token_cost?: number
  readonly cache_creation_input_token_cost_above_1hr?: number
  readonly output_cost_per_reasoning_token?: number
  readonly litellm_provider?: string
  readonly mode?: string
}

/**
 * A price table from LiteLLM's `model_prices_and_context_window.json` (parsed): every entry with
 * per-token input and output costs, under its key and, for a `provider/model` key, under the bare
 * model name too (the first one listed wins). Entries without token costs are skipped.
 */
export function litellmPrices(json: Readonly<Record<string, LiteLLMPriceEntry>>): PriceTable {
  const rates: Record<string, ModelRates> = {}
  for (const [key, entry] of Object.entries(json)) {
    if (typeof entry !== 'object' || entry === null) continue
    const { input_cost_per_token: input, output_cost_per_token: output } = entry
    if (!isCost(input) || !isCost(output)) continue
    const perMillion = (cost: number | undefined) => (isCost(cost) ? cost * 1e6 : undefined)
    const entryRates: ModelRates = {
      input: input * 1e6,
      output: output * 1e6,
      ...(isCost(entry.cache_read_input_token_cost) && { cachedInput: perMillion(entry.cache_read_input_token_cost) }),
      ...(isCost(entry.cache_creation_input_token_cost) && { cacheWrite: perMillion(entry.cache_creation_input_token_cost) }),
      ...(isCost(entry.output_cost_per_reasoning_token) && { reasoning: perMillion(entry.output_cost_per_reasoning_token) }),
      ...(isCost(entry.cache_creation_input_token_cost_above_1hr) && { cacheWrite1h: perMillion(entry.cache_creation_input_token_cost_above_1hr) }),
    }
    const bare = key.includes('/') ? key.slice(key.lastIndexOf('/') + 1) : key
    if (!/[*?]/.test(key)) rates[key] = entryRates
    if (bare !== key && !(bare in rates) && !/[*?]/.test(bare)) rates[bare] = entryRates
  }
  return priceTable(rates, { name: 'litellm' })
}

function isCost(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}
