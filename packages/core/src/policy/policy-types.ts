import type { MaybePromise, QuotaContext, QuotaMode, QuotaType, TimeUnit } from '../shared/types.js'

/** A limit that depends on a class of caller, e.g. the user's plan (Apigee's `<Class>`). */
export interface QuotaClassAllow {
  /** The class of a request: a context key (`'plan'`) or a function of the context. */
  readonly class: string | ((context: QuotaContext) => string | undefined)
  /**
   * Limit per class. A class not listed here is refused, never unlimited. As in Apigee, each class
   * keeps its own counter.
   */
  readonly counts: Readonly<Record<string, number>>
  /**
   * One counter for every class instead of one per class: a caller who changes class (a plan
   * upgrade mid-cycle) keeps what the window used, now measured against the new class's limit.
   * @default false
   */
  readonly shareCounter?: boolean
}

/**
 * Cost-style weights: what one token of each kind is charged. Cached input defaults to the input
 * weight and reasoning to the output weight. Charges are rounded up to whole units.
 */
export interface TokenWeights {
  readonly input?: number
  readonly output?: number
  readonly cachedInput?: number
  /** Prompt tokens written to the provider's cache. @default input */
  readonly cacheWrite?: number
  readonly reasoning?: number
}

/**
 * What a policy charges: provider tokens of one kind, weighted tokens, one unit per request, or
 * money — `'usd'`: the call's price in US dollars from the engine's price table (`allow` is then in
 * dollars; counters hold integers of ten nano-dollars, 1e-8 dollar, so every store stays exact).
 */
export type CountMode = 'total' | 'input' | 'output' | 'requests' | 'usd' | TokenWeights

/** What a money policy charges for a model no price table knows, instead of refusing it (US dollars per million tokens). */
export type UnpricedRate = { readonly usdPerMillion: number } | { readonly input: number; readonly output: number }

/** A soft level under the hard limit (which is always 100 %). Fires once per window and identifier. */
export interface QuotaThreshold {
  /** Fraction of the limit, strictly between 0 and 1, e.g. `0.8`. */
  readonly at: number
  /**
   * `warn` emits a `threshold` event; `throttle` also paces this identifier's further calls in the
   * window to one per `minIntervalMs` instead of refusing them.
   */
  readonly action: 'warn' | 'throttle'
  /**
   * Spacing between an identifier's calls once throttled (`throttle` only).
   * @default 1000
   */
  readonly minIntervalMs?: number | ((context: QuotaContext) => number)
  /** Free-form routing hints passed through to the event (e.g. `['slack', 'email']`). */
  readonly channels?: readonly string[]
}

/** A request-level cap. */
export interface MaxTokensPerRequest {
  /** The cap, or a function of the context (undefined: no cap for this request). */
  readonly limit: number | ((context: QuotaContext) => number | undefined)
  /**
   * `refuse` throws `TokenQuotaExceededError` (`RequestTooLarge`); `clamp` lowers the request's
   * output budget to fit and tells the adapter through `lease.maxOutputTokens`.
   * @default 'refuse'
   */
  readonly action?: 'refuse' | 'clamp'
}

/** What to do when a policy's identifier is missing from the context. */
export type UnidentifiedPolicy = 'refuse' | { readonly bucket: string }

/**
 * One counter family: a windowed policy (tokens per day, per month…) or a prepaid credit balance
 * (`type: 'balance'`). Field names follow Apigee's LLMTokenQuota elements.
 *
 * @example
 * const policy: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day' }
 */
export type QuotaPolicy = WindowedQuotaPolicy | BalanceQuotaPolicy

/**
 * A prepaid credit balance per identifier, in tokens (or requests, or US dollars with
 * `count: 'usd'`): no window, never resets. The balance is the identifier's unexpired credit
 * grants (`quota.admin.topUp`) less what was charged; a reservation holds on it like on any
 * counter and is refused (`CreditsExhausted`) when it does not fit. A windowed policy that names
 * it in `spillTo` draws from it once its own allowance is spent; a balance nobody spills into is
 * charged on its own.
 *
 * @example
 * const credits: QuotaPolicy = { name: 'credits', type: 'balance', identifier: 'user', lowAt: 1000 }
 */
export interface BalanceQuotaPolicy {
  /** Unique name; also the balance's name in the store. Letters, digits, `.`, `_`, `:`, `-`. */
  readonly name: string
  readonly type: 'balance'
  /** Whose balance a request draws from: a context key or a function (at most 256 characters). Omitted: one balance shared by everyone. */
  readonly identifier?: string | ((context: QuotaContext) => string | number | undefined)
  /** When the identifier is missing, as for a windowed policy. @default the quota's `unidentified` option */
  readonly unidentified?: UnidentifiedPolicy
  /** What a call costs in credits: as a windowed policy's `count`. @default 'total' */
  readonly count?: CountMode
  /** Only calls to these models draw from it (globs). Omitted: every model call. */
  readonly models?: readonly string[]
  /** Makes it a balance of tool calls, as a windowed policy's `tools`. */
  readonly tools?: readonly string[]
  /**
   * A `creditsLow` event fires when a charge takes the balance to or below this level (in the
   * policy's unit: tokens, or dollars), once per crossing.
   */
  readonly lowAt?: number
  /** `count: 'usd'` only: the rate for a model that has no price (see the windowed policy's). */
  readonly unpriced?: UnpricedRate
}

/** A policy with a window: `allow` per `interval` `timeUnit`s. */
export interface WindowedQuotaPolicy {
  /** Unique name; also the counter's name unless `sharedName` is set. Letters, digits, `.`, `_`, `:`, `-`. */
  readonly name: string
  /** @default 'default' */
  readonly type?: QuotaType
  /** Number of `timeUnit`s in a window: a positive integer. */
  readonly interval: number
  readonly timeUnit: TimeUnit
  /** `calendar` only: when the first window starts, `YYYY-MM-DD HH:mm:ss` in UTC. */
  readonly startTime?: string
  /**
   * `default` only: the IANA time zone whose local midnight (hour, Sunday, 1st of the month…)
   * starts the windows, e.g. `America/New_York`; across a daylight-saving change a local day
   * lasts 23 or 25 hours. @default 'UTC'
   */
  readonly timeZone?: string
  /**
   * Billing cycles anchored to each customer (`default` policies of `month` or `year` windows): the
   * context key (e.g. `subscribedAt`) or function that gives the identifier's anchor — a `Date`,
   * epoch ms, an ISO date and time, or a date `YYYY-MM-DD`. Each cycle starts at local midnight (in
   * `timeZone`) of the anchor's day of month, clamped to shorter months (an anchor on 31 January:
   * cycles from 28 or 29 February, then 31 March). A request whose context has no anchor is counted
   * in calendar windows and the quota emits a `MissingAnchor` warning once per policy.
   * @example { name: 'plan', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'month', anchor: 'subscribedAt' }
   */
  readonly anchor?: string | ((context: QuotaContext) => Date | number | string | undefined)
  /**
   * Billing cycles only: at the end of a cycle, up to `share` of its unused allowance becomes a
   * credit grant on the balance policy `into` (same unit), expiring `expiresAfterCycles` cycles
   * later. Granted once (keyed `rollover:<policy>:<identifier>:<cycle start>`) at the caller's first
   * request of the next cycle, measured against the limit in force then.
   * @example { into: 'credits', share: 0.5, expiresAfterCycles: 2 }
   */
  readonly rollover?: { readonly into: string; readonly share: number; readonly expiresAfterCycles: number }
  /** Tokens allowed per window: a number, a function of the context (Apigee `countRef`), or a class table. */
  readonly allow: number | ((context: QuotaContext) => MaybePromise<number>) | QuotaClassAllow
  /**
   * Which counter a request charges: a context key or a function. Its value (a string, or a number
   * read as one) is at most 256 characters, else the request is refused (`InvalidIdentifier`).
   * Omitted: one counter shared by everyone.
   */
  readonly identifier?: string | ((context: QuotaContext) => string | number | undefined)
  /**
   * When the identifier is missing: refuse (`QuotaInputError`, code `UnresolvedIdentifier`) or charge
   * a named shared bucket. Never unlimited.
   * @default the quota's `unidentified` option, itself `'refuse'`
   */
  readonly unidentified?: UnidentifiedPolicy
  /** @default 'total'; `'requests'` (one per call) on a policy of `tools` */
  readonly count?: CountMode
  /**
   * Only requests for these models (globs: `*`, `?`; case-insensitive) are checked and charged.
   * Omitted (and no `tools`): every model call. A policy never applies to tool calls unless it names `tools`.
   */
  readonly models?: readonly string[]
  /**
   * Makes this a policy of tool calls: only requests that name a matching `tool` (globs: `*`, `?`;
   * case-insensitive, e.g. `web_search`, `mcp:github/*`) are checked and charged, and model calls
   * never are. Not with `models`, nor with `count: 'usd'`.
   * @example { name: 'searches', identifier: 'user', tools: ['web_search'], allow: 20, interval: 1, timeUnit: 'day' }
   */
  readonly tools?: readonly string[]
  /** @default 'enforce' */
  readonly mode?: QuotaMode
  /** Policies with the same `sharedName` share one counter (e.g. an `enforce-only` / `count-only` pair). */
  readonly sharedName?: string
  readonly thresholds?: readonly QuotaThreshold[]
  /** A cap on a single request's tokens (prompt estimate + max output), in this policy's unit. Not for `count: 'usd'`. */
  readonly maxTokensPerRequest?: number | MaxTokensPerRequest
  /**
   * `count: 'usd'` only: the rate for a model that has no price. Without it such a call is refused
   * with `UnpricedModelError` before it is sent — never let through for free.
   */
  readonly unpriced?: UnpricedRate
  /**
   * The name of a `type: 'balance'` policy (same identifier, same `count`) that a request draws
   * from once this policy's allowance is spent: charged here first and the rest to the credits,
   * in one atomic step, refused only when both together cannot hold it (plan allowances that
   * spill into purchased credits). Usage above the estimate goes to the credits: the allowance
   * is charged at most what the reservation held there (the room beyond may be another call's).
   * One policy spills into a balance at most; `enforce` mode only.
   */
  readonly spillTo?: string
}
