import type { AdapterOptions } from '@tokenquota/core/adapter'
import type { Json } from '@tokenquota/core/adapter'

export interface WithTokenQuotaOptions extends AdapterOptions<[params: Json]> {
  /**
   * Prompt-token estimator. The quota's own estimator is not used here: it is usually tuned to
   * OpenAI's tokenizers, which count fewer tokens than Claude's.
   * @default `anthropicEstimator` (the heuristic × 1.2)
   */
  readonly estimator?: AdapterOptions['estimator']
  /**
   * Count the prompt exactly with the free `messages.countTokens` endpoint before reserving (one
   * more request per call, under its own rate limit). A count that fails falls back to the
   * estimate, with a `CountTokensFailed` warning.
   * @default false
   */
  readonly countTokens?: boolean
  /**
   * Output tokens reserved for a request without `max_tokens` (which the API requires, so such a
   * request is refused by Anthropic and its reservation released).
   * @default 4096
   */
  readonly defaultMaxOutputTokens?: number
  /**
   * Prompt tokens reserved for a PDF document (base64, URL or file id), whose pages are not read
   * here: Anthropic counts 1,500–3,000 tokens of text and an image per page. Raise it for longer
   * documents, or turn on `countTokens`.
   * @default 25_000
   */
  readonly documentTokens?: number
}
