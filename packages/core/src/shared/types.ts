/**
 * Who is calling. Set by trusted server code (`quota.withContext`), an adapter's `context` option,
 * or passed explicitly. Policies pick their identifier, class and limit from it. An identifier —
 * `user`, `project`, `org`, each tag, whatever a policy's `identifier`, class or the `shardKey`
 * reads — is at most 256 characters (each distinct one is a counter of its own): a longer one is
 * refused with `QuotaInputError` (`InvalidIdentifier`, or `InvalidContext` for a class or shard)
 * before any store is touched.
 */
export interface QuotaContext {
  readonly user?: string
  readonly app?: string
  readonly project?: string
  readonly org?: string
  readonly plan?: string
  readonly model?: string
  readonly tags?: readonly string[]
  readonly [key: string]: unknown
}

/** A time unit of a policy window. */
export type TimeUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year'

/**
 * How a policy's window starts and resets (Apigee's `type`):
 * - `default`: fixed windows aligned to UTC unit boundaries (minute, hour, midnight, Sunday 00:00, the 1st, 1 January).
 * - `calendar`: fixed windows that start at `startTime` and repeat every interval.
 * - `flexi`: a window starts at an identifier's first request and lasts one interval.
 * - `rollingwindow`: the tokens of the last interval, recomputed at every request.
 */
export type QuotaType = 'default' | 'calendar' | 'flexi' | 'rollingwindow'

/**
 * Whether a policy refuses, counts, or both (Apigee's `EnforceOnly` / `CountOnly`):
 * - `enforce`: reserve before the call, charge the real usage after.
 * - `count-only`: charge, never refuse (shadow mode; or the counting half of a `sharedName` pair).
 * - `enforce-only`: refuse when the shared counter is full, never charge it.
 */
export type QuotaMode = 'enforce' | 'count-only' | 'enforce-only'

/** Token usage reported by a provider, in tokens. */
export interface Usage {
  /** Prompt tokens, cached ones included. */
  readonly input?: number
  /** Generated tokens, reasoning ones included. */
  readonly output?: number
  /** Everything the provider bills; defaults to `input + output`. */
  readonly total?: number
  /** Prompt tokens served from the provider's cache (a part of `input`). */
  readonly cachedInput?: number
  /** Prompt tokens written to the provider's cache (a part of `input`; Anthropic bills them above the plain rate). */
  readonly cacheWrite?: number
  /** The part of `cacheWrite` written to Anthropic's one-hour cache (billed above the five-minute writes). */
  readonly cacheWrite1h?: number
  /** Reasoning / thinking tokens (a part of `output`). */
  readonly reasoning?: number
  /** Web searches the provider ran for the call (Anthropic's `server_tool_use.web_search_requests`), priced per search. */
  readonly webSearches?: number
}

/** Usage after validation: every field a non-negative integer. */
export interface NormalizedUsage {
  readonly input: number
  readonly output: number
  readonly total: number
  readonly cachedInput: number
  readonly cacheWrite: number
  readonly cacheWrite1h: number
  readonly reasoning: number
  readonly webSearches: number
}

/** What the caller expects a request to use before it is sent. */
export interface TokenEstimate {
  /** Estimated prompt tokens. */
  readonly input: number
  /** Maximum output tokens the request may generate. */
  readonly output: number
}

/** Upper bounds of a request's tokens, after validation. */
export interface EstimateBound {
  readonly input: number
  readonly output: number
  /** At most `input + output`. */
  readonly total: number
}

/** A value that may be computed synchronously or asynchronously. */
export type MaybePromise<T> = T | Promise<T>
