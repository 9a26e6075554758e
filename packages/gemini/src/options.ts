import type { FallbackOption, QuotaContext, StreamAbortCharge, TokenEstimator, TokenQuota } from '@tokenquota/core'

export interface WithTokenQuotaOptions {
  /** The engine, from `createTokenQuota()`. */
  readonly quota: TokenQuota
  /** Who is calling, when no `quota.withContext()` scope is active. Only use fields your server sets. */
  readonly context?: (params: Readonly<Record<string, unknown>>) => QuotaContext | undefined
  /** When the requested model is refused: `{ 'gemini-2.5-pro': 'gemini-2.5-flash' }` or a function. */
  readonly fallback?: FallbackOption
  /** Prompt-token estimator. @default the quota's estimator (a fast heuristic) */
  readonly estimator?: TokenEstimator
  /**
   * `@google/genai` only: count the prompt exactly with the free `models.countTokens` call before
   * reserving (one more request per call).
   * @default false
   */
  readonly countTokens?: boolean
  /**
   * Output tokens reserved when the request sets no `maxOutputTokens` (thinking tokens count as
   * output). A longer answer is still charged in full.
   * @default 8192
   */
  readonly defaultMaxOutputTokens?: number
  /** What a stream that stops early is charged. @default 'produced' */
  readonly onStreamAbort?: StreamAbortCharge
}
