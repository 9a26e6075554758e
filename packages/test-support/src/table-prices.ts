import { calcPrice, extractUsage, findProvider } from '@pydantic/genai-prices'

/** A call's tokens as the tests state them: `input` includes `cachedInput`; `output` includes thinking. */
export interface PricedTokens {
  readonly input: number
  readonly output: number
  readonly cachedInput?: number
  /** A part of `input` written to the provider's cache (Anthropic), at either cache duration. */
  readonly cacheWrite?: number
  /** A part of `cacheWrite` written for one hour (Anthropic's dearer cache). */
  readonly cacheWrite1h?: number
  /** Server-side web searches (Anthropic's `server_tool_use.web_search_requests`). */
  readonly webSearches?: number
}

/** Where and when the table looks a price up: the provider (some models are found only under theirs) and the moment (time-of-day prices). */
export interface PriceLookup {
  readonly providerId?: string
  readonly at?: number | Date
}

/** What `@pydantic/genai-prices` itself says a call costs, in US dollars: the reference money charges are checked against. */
export function tablePrice(model: string, tokens: PricedTokens, lookup: PriceLookup = {}): number {
  const written1h = tokens.cacheWrite1h ?? 0
  const counts = {
    input_tokens: tokens.input,
    output_tokens: tokens.output,
    cache_read_tokens: tokens.cachedInput ?? 0,
    cache_write_tokens: tokens.cacheWrite ?? 0,
    ...(written1h > 0 && { cache_write_1h_tokens: written1h, cache_write_5m_tokens: (tokens.cacheWrite ?? 0) - written1h }),
    ...(tokens.webSearches !== undefined && { web_searches: tokens.webSearches }),
  }
  const options = {
    ...(lookup.providerId !== undefined && { providerId: lookup.providerId }),
    ...(lookup.at !== undefined && { timestamp: new Date(lookup.at) }),
  }
  const price = calcPrice(counts, model, options)
  if (!price) throw new Error(`@pydantic/genai-prices has no price for ${model}`)
  return price.total_price
}

/** Money counter units in a US dollar: tens of nano-dollars. */
const unitsPerDollar = 100_000_000

/** The table's price of a call as a money counter holds it: whole tens of nano-dollars, rounded up, floating-point dust ignored (twin of core's `moneyUnits`). */
export function countedPrice(model: string, tokens: PricedTokens, lookup: PriceLookup = {}): number {
  const units = tablePrice(model, tokens, lookup) * unitsPerDollar
  return Math.ceil(units - 1e-6 - units * 4 * Number.EPSILON) / unitsPerDollar
}

/** What `@pydantic/genai-prices` says a provider's response costs, reading its usage with the package's own extractor. */
export function extractedPrice(providerId: string, response: unknown): number {
  const provider = findProvider({ providerId })
  if (!provider) throw new Error(`@pydantic/genai-prices has no provider ${providerId}`)
  const { model, usage } = extractUsage(provider, response)
  const price = model === null ? null : calcPrice(usage, model, { provider })
  if (!price) throw new Error(`@pydantic/genai-prices has no price for ${String(model)}`)
  return price.total_price
}
