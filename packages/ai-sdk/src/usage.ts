import type { Usage } from '@tokenquota/core'
import type { Json } from '@tokenquota/core/adapter'

const numberOr = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined)

/**
 * The engine's usage from either shape the AI SDK has shipped: flat numbers (`LanguageModelV2`:
 * `inputTokens`, `outputTokens`, `totalTokens`, `reasoningTokens`, `cachedInputTokens`) or nested
 * (`V3`/`V4`: `inputTokens: { total, cacheRead, … }`, `outputTokens: { total, reasoning, … }`).
 * `undefined` when there is none, or only zeros (a model call is never free). Usage with one of
 * `inputTokens` and `outputTokens` but not the other is malformed (its missing count is NaN).
 */
export function usageOfResult(usage: unknown): Usage | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined
  const value = usage as Json
  const nested = typeof value.inputTokens === 'object' && value.inputTokens !== null
  const input = nested ? numberOr((value.inputTokens as Json).total) : numberOr(value.inputTokens)
  const output =
    typeof value.outputTokens === 'object' && value.outputTokens !== null ? numberOr((value.outputTokens as Json).total) : numberOr(value.outputTokens)
  const cachedInput = nested ? numberOr((value.inputTokens as Json).cacheRead) : numberOr(value.cachedInputTokens)
  const reasoning =
    typeof value.outputTokens === 'object' && value.outputTokens !== null ? numberOr((value.outputTokens as Json).reasoning) : numberOr(value.reasoningTokens)
  const total = numberOr(value.totalTokens)
  if (!input && !output && !total) return undefined
  // A count the provider left out (the AI SDK says `undefined`) is malformed, never 0: an estimate of
  // the prompt and the output received is charged, at least the counts that came.
  return { input: input ?? Number.NaN, output: output ?? Number.NaN, total: total ?? (input ?? 0) + (output ?? 0), cachedInput, reasoning }
}
