import type { TokenEstimator } from '@tokenquota/core'
// From the adapter kit: the package's entry keeps the root (and its Node-only context scope) out of edge bundles.
import { tokenizerOfModel } from '@tokenquota/core/adapter'

type Counter = (text: string) => number

/**
 * An exact prompt-token counter built on `gpt-tokenizer`: with the model of the call (the adapters
 * pass it), that model's encoding (cl100k_base for GPT-4 and GPT-3.5, see `tokenizerOfModel`),
 * otherwise o200k_base (GPT-4o, GPT-4.1, GPT-5, the o-series). An encoding is imported on its first
 * count, not before, so its load cost is paid only by apps that configure it. Install
 * `gpt-tokenizer` next to this package.
 *
 * @example
 * withTokenQuota(new OpenAI(), { quota, estimator: createExactEstimator() })
 */
export function createExactEstimator(): TokenEstimator {
  let o200k: Promise<Counter> | undefined
  let cl100k: Promise<Counter> | undefined
  return async (text, options) => {
    if ((options?.tokenizer ?? tokenizerOfModel(options?.model)) === 'cl100k_base') {
      cl100k ??= import('gpt-tokenizer/encoding/cl100k_base').then((module) => module.countTokens)
      return (await cl100k)(text)
    }
    o200k ??= import('gpt-tokenizer').then((module) => module.countTokens)
    return (await o200k)(text)
  }
}
