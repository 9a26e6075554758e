import { calcPrice } from '@pydantic/genai-prices'

/** A call's tokens as the tests state them: `input` includes `cachedInput`; `output` includes thinking. */
export interface PricedTokens {
  readonly input: number
  readonly output: number
  readonly cachedInput?: number
  /** A part of `input` written to the provider's cache (Anthropic). */
  readonly cacheWrite?: number
}

/** What `@pydantic/genai-prices` itself says a call costs, in US dollars: the reference money charges are checked against. */
export function tablePrice(model: string, tokens: PricedTokens): number {
  const counts = {
    input_tokens: tokens.input,
    output_tokens: tokens.output,
    cache_read_tokens: tokens.cachedInput ?? 0,
    cache_write_tokens: tokens.cacheWrite ?? 0,
  }
  const price = calcPrice(counts, model)
  if (!price) throw new Error(`@pydantic/genai-prices has no price for ${model}`)
  return price.total_price
}

/** The table's price of a call as a money counter holds it: whole micro-dollars, rounded up. */
export function countedPrice(model: string, tokens: PricedTokens): number {
  return Math.ceil(tablePrice(model, tokens) * 1e6 - 1e-6) / 1e6
}
