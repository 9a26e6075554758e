import type { PolicyDecision } from '../plan/decision.js'
import { QuotaEngine } from './quota-engine.js'
import { createQuotaAdmin, type QuotaAdmin } from './quota-admin.js'
import { engineSettings } from './settings.js'
import { estimateTokens, type TokenEstimator } from '../estimate/estimate.js'
import type { EstimateStats } from '../estimate/estimate-learning.js'
import { type QuotaEventMap, type QuotaEventName, QuotaEvents } from './events.js'
import type { CommitResult, QuotaLease } from './lease.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import type { QuotaContext, Usage } from '../shared/types.js'
import type { ReserveRequest, TokenQuotaOptions } from './token-quota-options.js'
import { warnVolatileCredits } from './credit-durability.js'

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
  record(context: QuotaContext | undefined, usage: Usage, options?: Pick<ReserveRequest, 'model' | 'tool' | 'provider'>): Promise<CommitResult>
  /** One entry per policy that a request for the model or the tool answers to (all policies when neither is given). */
  status(context?: QuotaContext, options?: Pick<ReserveRequest, 'model' | 'tool'>): Promise<readonly PolicyDecision[]>
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
  warnVolatileCredits(settings.policies, store, events)
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
    status: (context, statusOptions = {}) => engine.status(context, statusOptions),
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
