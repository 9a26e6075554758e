import type { LLMResult } from '@langchain/core/outputs'
import type { Usage } from '@tokenquota/core'
import { type Json, isObject } from '@tokenquota/core/adapter'

/**
 * A run's usage: the sum of its generations' `usage_metadata` (chat models), else the legacy
 * `llmOutput.tokenUsage` / `estimatedTokenUsage`. `undefined` when the run reported none — or only
 * zeros, which LangChain fills in when the provider sent nothing: a model call is never free.
 */
export function usageOfResult(output: LLMResult): Usage | undefined {
  let found = false
  const sum = { input: 0, output: 0, total: 0, cachedInput: 0, reasoning: 0 }
  for (const metadata of output.generations.flatMap(responseUsages)) {
    found = true
    const inputDetails = isObject(metadata.input_token_details) ? metadata.input_token_details : {}
    const outputDetails = isObject(metadata.output_token_details) ? metadata.output_token_details : {}
    sum.input += Number(metadata.input_tokens ?? 0)
    sum.output += Number(metadata.output_tokens ?? 0)
    sum.total += Number(metadata.total_tokens ?? Number(metadata.input_tokens ?? 0) + Number(metadata.output_tokens ?? 0))
    sum.cachedInput += Number(inputDetails.cache_read ?? 0)
    sum.reasoning += Number(outputDetails.reasoning ?? 0)
  }
  if (found && sum.total + sum.input + sum.output > 0) return sum
  const legacy = output.llmOutput?.tokenUsage ?? output.llmOutput?.estimatedTokenUsage
  if (!isObject(legacy) || !(Number(legacy.totalTokens) > 0 || Number(legacy.promptTokens) > 0)) return undefined
  return { input: legacy.promptTokens as number, output: legacy.completionTokens as number, total: legacy.totalTokens as number }
}

/**
 * The usage of one prompt's generations. With `n > 1`, LangChain copies the response's usage onto
 * every choice: identical copies count once; different ones are per-choice figures and add up.
 */
function responseUsages(generations: LLMResult['generations'][number]): Json[] {
  const usages = generations.map((generation) => (generation as { message?: { usage_metadata?: unknown } }).message?.usage_metadata).filter(isObject)
  const first = usages[0]
  if (first !== undefined && usages.every((usage) => JSON.stringify(usage) === JSON.stringify(first))) return [first]
  return usages
}
