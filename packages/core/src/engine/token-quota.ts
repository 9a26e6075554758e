import type { PriceTable } from '../price/price-table.js'
import type { PolicyDecision } from '../plan/decision.js'
import { QuotaEngine } from './quota-engine.js'
import { createQuotaAdmin, type QuotaAdmin } from './quota-admin.js'
import { engineSettings } from './settings.js'
import { estimateTokens, type TokenEstimator } from '../estimate/estimate.js'
import type { EstimateStats } from '../estimate/estimate-learning.js'
import { type QuotaEventHandlers, type QuotaEventMap, type QuotaEventName, QuotaEvents } from '../shared/events.js'
import type { CommitResult, QuotaLease } from './lease.js'
import type { NormalizedPolicy } from '../policy/policy.js'
import type { QuotaPolicy, UnidentifiedPolicy } from '../policy/policy-types.js'
import { MemoryStore } from '../store/memory-store.js'
import type { LeaseExpiry, QuotaStore } from '../store/quota-store.js'
import type { QuotaContext, TokenEstimate, Usage } from '../shared/types.js'

export interface TokenQuotaOptions {
  readonly policies: readonly QuotaPolicy[]
  /** @default new MemoryStore() */
  readonly store?: QuotaStore
  /** The clock for every window computation, in epoch ms. @default Date.now */
  readonly now?: () => number
  /**
   * How long a reservation holds capacity when it is never settled (a crashed call, a stream
   * nobody finished reading). Long enough for the slowest streamed call you make.
   * @default 600_000 (10 minutes)
   */
  readonly leaseTtlMs?: number
  /**
   * What becomes of a reservation whose lease expires before it is committed or released — a
   * commit lost to a process exit, a crash, a serverless freeze or a store that stayed down:
   * `'charge'` charges the estimate it held (errs toward the quota), `'release'` returns it.
   * Either way a `leaseExpired` event says so (from this process, for its own leases), and a
   * commit that arrives later replaces the expiry charge with the real usage, once.
   * @default 'charge'
   */
  readonly onLeaseExpiry?: LeaseExpiry
  /** Default for policies whose identifier is missing from the context. @default 'refuse' */
  readonly unidentified?: UnidentifiedPolicy
  /**
   * When the store fails: `closed` refuses with `StoreUnavailableError`; `open` admits, counting
   * in a local in-memory store meanwhile, and emits `storeError`. Once the store answers again,
   * what was charged locally is written to it, once, and `storeReplayed` says so.
   * @default 'closed'
   */
  readonly failureMode?: 'closed' | 'open'
  /**
   * When `lease.commit()` and `lease.release()` resolve.
   * - `background`: at once, with what was charged; the store write goes out right away (batched
   *   with others by the Redis stores), is retried on failure (settles are idempotent) and, if the
   *   store stays down, reported by `storeError` and a `ChargeLost` warning (the reservation is
   *   then charged at expiry, see `onLeaseExpiry`). The reservation keeps
   *   holding its estimate until the write lands, so no limit is ever loosened. `threshold` events
   *   fire when the write lands. `quota.flush()` waits for every write (call it before exiting).
   * - `await`: once the store has recorded it; a store failure rejects the commit.
   *
   * The embedded MemoryStore settles synchronously: both modes are the same there.
   * @default 'background'
   */
  readonly commitMode?: 'background' | 'await'
  /**
   * Prompt-token estimator used by adapters; they pass `{ model }` as its second argument, so the
   * default bounds that model's own tokenizer. @default a fast heuristic (`estimateTokens`)
   */
  readonly estimator?: TokenEstimator
  /**
   * Where money policies (`count: 'usd'`) get their prices: a table or a list (the first that
   * prices a model wins). @default `genaiPrices()` — `@pydantic/genai-prices`, an optional peer
   * dependency, imported the first time a money policy is used
   */
  readonly prices?: PriceTable | readonly PriceTable[]
  /** Event handlers; more can be added with `quota.on()`. */
  readonly on?: QuotaEventHandlers
  /**
   * The shard of a request, for stores that partition keys (a Redis Cluster hash tag): every
   * counter of one request lives in its shard, so counters never span shards. Typically the org.
   */
  readonly shardKey?: (context: QuotaContext) => string | undefined
}

/** What a request asks for. */
export interface ReserveRequest {
  /** Tokens the call may use: a total, or prompt estimate and max output. @default 0 */
  readonly estimate?: number | TokenEstimate
  /** The model, for per-model policies. @default context.model */
  readonly model?: string
  /**
   * Who serves the model (`openai`, `anthropic`, `google`, …), for money policies: some models are
   * priced only under their provider (OpenAI's embeddings). Adapters set it. A model the provider's
   * table lacks is priced by its name alone.
   */
  readonly provider?: string
  /**
   * How long this reservation holds if it is never settled, in ms (a long-lived agent budget, a
   * short tool call); `lease.extend(ms)` moves it later. @default the quota's `leaseTtlMs`
   */
  readonly leaseTtlMs?: number
}

export interface TokenQuota {
  readonly policies: readonly NormalizedPolicy[]
  readonly store: QuotaStore
  /** The operator's side: inspect a caller, reset a window, overrides and grants, the audit log. */
  readonly admin: QuotaAdmin
  readonly estimator: TokenEstimator
  /** The engine's clock. */
  now(): number
  /** Runs `fn` with `context` as the ambient caller (merged over an outer scope's context). */
  withContext<T>(context: QuotaContext, fn: () => T): T
  /** The ambient context, if any. */
  currentContext(): QuotaContext | undefined
  /**
   * Checks every applicable policy and holds the estimate on all of them, atomically: all or
   * nothing. `context` is merged over the ambient context.
   * @throws TokenQuotaExceededError (429), QuotaInputError (400), StoreUnavailableError (503)
   */
  reserve(context?: QuotaContext, request?: ReserveRequest): Promise<QuotaLease>
  /** Enforce-only: throws like `reserve` when the request would not fit, holds nothing. @default estimate 1 */
  check(context?: QuotaContext, request?: ReserveRequest): Promise<readonly PolicyDecision[]>
  /** Count-only: charges usage without checking any limit. */
  record(context: QuotaContext | undefined, usage: Usage, options?: { readonly model?: string; readonly provider?: string }): Promise<CommitResult>
  /** One entry per applicable policy (all policies when no model is given). */
  status(context?: QuotaContext, options?: { readonly model?: string }): Promise<readonly PolicyDecision[]>
  /** Subscribes to an event; returns the function that unsubscribes. */
  on<Name extends QuotaEventName>(name: Name, listener: (event: QuotaEventMap[Name]) => void): () => void
  /** Emits an event (adapters report `fallback` through this). */
  emit<Name extends QuotaEventName>(name: Name, event: QuotaEventMap[Name]): void
  /**
   * Resolves when every commit and release sent in the background has landed or been given up,
   * and the store has sent what it buffers (SyncedStore). Call it before the process exits.
   * @throws StoreUnavailableError when the store could not send its buffered charges (they stay buffered)
   */
  flush(): Promise<void>
  /**
   * Reports a call's prompt estimate against the provider's count (adapters do it through
   * `MeteredCall`). A model whose prompts run over their estimates gets its later estimates raised,
   * and the first time it happens an `EstimateLow` warning says by how much.
   */
  noteEstimate(model: string | undefined, estimated: number, reported: number): void
  /** How prompt estimates compared with what providers reported, per model. */
  estimateStats(): readonly EstimateStats[]
  /** Flushes (see `flush()`), then stops the engine's timers and the store's (SyncedStore). The engine is not used afterwards. */
  close(): Promise<void>
}

/**
 * Creates the quota engine. Validates every policy now: a misconfiguration throws
 * `QuotaConfigError` here, never at request time.
 *
 * @example
 * const quota = createTokenQuota({
 *   policies: [{ name: 'user-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day' }],
 * })
 * const lease = await quota.reserve({ user: 'alice' }, { estimate: 1200, model: 'gpt-4o' })
 * await lease.commit({ input: 900, output: 250 })
 */
export function createTokenQuota(options: TokenQuotaOptions): TokenQuota {
  const settings = engineSettings(options)
  const store: QuotaStore = options.store ?? new MemoryStore()
  const engine = new QuotaEngine(settings, store, new QuotaEvents(options.on))
  const { events, learning } = engine
  const quota: TokenQuota = {
    policies: settings.policies,
    store,
    admin: createQuotaAdmin(settings, store, events),
    estimator: options.estimator ?? estimateTokens,
    now: settings.now,
    withContext: (context, fn) => engine.withContext(context, fn),
    currentContext: () => engine.currentContext(),
    reserve: (context, request = {}) => engine.reserve(context, request),
    check: (context, request = {}) => engine.check(context, request),
    record: (context, usage, recordOptions = {}) => engine.record(context, usage, recordOptions),
    status: (context, statusOptions = {}) => engine.status(context, statusOptions.model),
    on: (name, listener) => events.on(name, listener),
    emit: (name, event) => events.emit(name, event),
    async flush() {
      await engine.backgroundWrites.flush()
      await engine.access.flush()
      await store.flush?.()
    },
    noteEstimate(model, estimated, reported) {
      const ratio = learning.note(model ?? '', estimated, reported)
      if (ratio === undefined) return
      events.emit('warning', {
        code: 'EstimateLow',
        message: `The provider counted ${reported} prompt tokens for a ${model ?? 'model'} call estimated at ${estimated} (${ratio.toFixed(2)}×); later estimates for this model are raised to match`,
      })
    },
    estimateStats: () => learning.stats(),
    async close() {
      await quota.flush()
      engine.expiryWatch.stop()
      await store.close?.()
    },
  }
  return Object.freeze(quota)
}
