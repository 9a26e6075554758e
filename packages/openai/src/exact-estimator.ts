import type { TokenEstimator } from '@tokenquota/core'

/**
 * An exact prompt-token counter built on `gpt-tokenizer` (o200k, the GPT-4o / o-series encoding).
 * The tokenizer is imported on the first count, not before, so its load cost is paid only by apps
 * that configure it. Install `gpt-tokenizer` next to this package.
 *
 * @example
 * withTokenQuota(new OpenAI(), { quota, estimator: createExactEstimator() })
 */
export function createExactEstimator(): TokenEstimator {
  let countTokens: Promise<(text: string) => number> | undefined
  return async (text) => {
    countTokens ??= import('gpt-tokenizer').then((module) => module.countTokens)
    return (await countTokens)(text)
  }
}
