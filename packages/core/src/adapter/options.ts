import type { TokenEstimator } from '../estimate/estimate.js'
import type { TokenQuota } from '../engine/token-quota.js'
import type { QuotaContext } from '../shared/types.js'
import type { FallbackOption } from './fallback.js'
import type { StreamAbortCharge } from './metered-call.js'
import type { ResponseCache } from './response-cache.js'

/**
 * The options every adapter takes, each adapter adding its own. `ContextArgs` is what the adapter
 * hands the `context` function (at least the request's parameters); `Fallback` its fallback shape.
 */
export interface AdapterOptions<ContextArgs extends unknown[] = [params: Readonly<Record<string, unknown>>], Fallback = FallbackOption> {
  /** The engine, from `createTokenQuota()`. */
  readonly quota: TokenQuota
  /**
   * Who is calling, when no `quota.withContext()` scope is active: e.g. from `params.user`. Only
   * use fields your server sets, not ones a client chose.
   */
  readonly context?: (...args: ContextArgs) => QuotaContext | undefined
  /** What to do when the requested model's reservation is refused: a cheaper model, or a ready response. */
  readonly fallback?: Fallback
  /**
   * Prompt-token estimator. It receives `{ model }`, the model of the call, unless a `fallback`
   * may send the prompt to another model. @default the quota's estimator (a fast heuristic)
   */
  readonly estimator?: TokenEstimator
  /**
   * Output tokens reserved for a request that sets no output cap. A longer answer is still charged
   * in full. @default set by each adapter (4096, or 8192 for Gemini, whose thinking tokens count as output)
   */
  readonly defaultMaxOutputTokens?: number
  /**
   * What a stream that stops early (the caller breaks off or aborts, or the connection fails) is
   * charged: `produced` = prompt estimate + the output received so far; `reservation` = all of it.
   * @default 'produced'
   */
  readonly onStreamAbort?: StreamAbortCharge
  /**
   * `fallback: cache`: answers to keep, and to serve again — free, with a `fallback` event of kind
   * `cache` — when the same caller sends the same request over budget. Tried before `fallback`.
   * @default none (nothing is cached)
   */
  readonly cache?: ResponseCache
}

/** The caller's context from the adapter's `context` option, unless a `quota.withContext()` scope is active (it wins). */
export function callerContext<ContextArgs extends unknown[]>(
  options: Pick<AdapterOptions<ContextArgs, unknown>, 'quota' | 'context'>,
  ...args: ContextArgs
): QuotaContext | undefined {
  return options.quota.currentContext() === undefined ? options.context?.(...args) : undefined
}
