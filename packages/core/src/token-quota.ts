import { AsyncLocalStorage } from 'node:async_hooks'
import type { PolicyDecision } from './decision.js'
import { QuotaConfigError, QuotaInputError, StoreUnavailableError, TokenQuotaError, TokenQuotaExceededError, type QuotaViolation } from './errors.js'
import { QuotaEvents, type QuotaEventHandlers, type QuotaEventMap, type QuotaEventName } from './events.js'
import { callPolicyFunction, resolveTarget, type PolicyTarget } from './identifier.js'
import { Lease, type CommitOptions, type CommitResult, type LeaseFields, type LeaseSettlement, type QuotaLease } from './lease.js'
import { normalizeUnidentified, type NormalizedPolicy } from './policy.js'
import { normalizePolicies } from './policy-set.js'
import type { QuotaPolicy, UnidentifiedPolicy } from './policy-types.js'
import { estimateTokens, type TokenEstimator } from './estimate.js'
import { MemoryStore, type LeaseHold } from './stores/memory-store.js'
import type {
  Charge,
  ChargeOutcome,
  CounterSnapshot,
  LeaseExpiry,
  QuotaStore,
  ReserveRequest as StoreReserveRequest,
  ReserveResult,
  SettleRequest,
} from './stores/quota-store.js'
import { allowedOf, chargeOf, chargesFor, decisionOf, reportingTarget, thresholdUntil, type CounterPlan, type RequestPlan } from './request-plan.js'
import { Throttle } from './throttle.js'
import type { EstimateBound, NormalizedUsage, QuotaContext, TokenEstimate, Usage } from './types.js'
import { normalizeEstimate, normalizeUsage } from './usage.js'
import { BackgroundWrites } from './background-writes.js'
import { LeaseExpiryWatch } from './lease-expiry-watch.js'
import { EstimateLearning, type EstimateStats } from './estimate-learning.js'

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
   * in a local in-memory store meanwhile, and emits `storeError`.
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
  /** Prompt-token estimator used by adapters. @default a fast heuristic (`estimateTokens`) */
  readonly estimator?: TokenEstimator
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
}

export interface TokenQuota {
  readonly policies: readonly NormalizedPolicy[]
  readonly store: QuotaStore
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
  record(context: QuotaContext | undefined, usage: Usage, options?: { readonly model?: string }): Promise<CommitResult>
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

/** A successful reservation, as the store placed it: what its lease settles. */
interface Reservation extends LeaseFields {
  readonly requestPlan: RequestPlan
  readonly placements: readonly number[]
  readonly snapshots: readonly CounterSnapshot[]
  /** The estimate, lowered by a `clamp` cap: what `commit()` without usage charges. */
  readonly bound: EstimateBound
  /** Held in the local fallback store because the primary one failed (`failureMode: 'open'`). */
  readonly local: boolean
  /** The hold itself, when the engine's own memory store placed it (settled by reference). */
  readonly hold: LeaseHold | undefined
}

/** A reservation as a store placed it. */
interface Placement {
  readonly result: ReserveResult
  readonly hold: LeaseHold | undefined
  readonly local: boolean
}

const defaultLeaseTtlMs = 600_000
/** A throttle's interval when its policy sets none. */
const defaultPacingMs = 1000
/** Waits before each retry of a background commit; then it is given up. */
const commitRetryDelaysMs = [100, 1000, 5000]
/** Models seen that no per-model policy matched (for one warning each); bounded so hostile names cannot grow it. */
const maxRememberedModels = 1000

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
  if (typeof options !== 'object' || options === null) {
    throw new QuotaConfigError({ code: 'InvalidConfiguration', message: 'createTokenQuota() needs an options object with `policies`' })
  }
  const unidentified = normalizeUnidentified(undefined, options.unidentified ?? 'refuse', 'unidentified')
  const policies = normalizePolicies(options.policies, { unidentified })

  const leaseTtlMs = options.leaseTtlMs ?? defaultLeaseTtlMs
  if (typeof leaseTtlMs !== 'number' || !Number.isFinite(leaseTtlMs) || leaseTtlMs <= 0) {
    throw new QuotaConfigError({
      code: 'InvalidConfiguration',
      field: 'leaseTtlMs',
      message: `Expected \`leaseTtlMs\` to be a positive number of ms, got \`${String(leaseTtlMs)}\``,
    })
  }
  const onLeaseExpiry = options.onLeaseExpiry ?? 'charge'
  if (onLeaseExpiry !== 'charge' && onLeaseExpiry !== 'release') {
    throw new QuotaConfigError({
      code: 'InvalidConfiguration',
      field: 'onLeaseExpiry',
      message: `Expected \`onLeaseExpiry\` to be 'charge' or 'release', got \`${String(onLeaseExpiry)}\``,
    })
  }
  const failureMode = options.failureMode ?? 'closed'
  if (failureMode !== 'closed' && failureMode !== 'open') {
    throw new QuotaConfigError({
      code: 'InvalidConfiguration',
      field: 'failureMode',
      message: `Expected \`failureMode\` to be 'closed' or 'open', got \`${String(failureMode)}\``,
    })
  }
  const commitMode = options.commitMode ?? 'background'
  if (commitMode !== 'background' && commitMode !== 'await') {
    throw new QuotaConfigError({
      code: 'InvalidConfiguration',
      field: 'commitMode',
      message: `Expected \`commitMode\` to be 'background' or 'await', got \`${String(commitMode)}\``,
    })
  }
  const store: QuotaStore = options.store ?? new MemoryStore()
  const now = options.now ? wholeMilliseconds(options.now) : Date.now
  const events = new QuotaEvents(options.on)
  const learning = new EstimateLearning()
  const scope = new AsyncLocalStorage<QuotaContext>()
  const throttle = new Throttle()
  const hasModelFilters = policies.some((policy) => policy.hasModelFilter)
  const hasRequestCaps = policies.some((policy) => policy.maxTokensPerRequest !== undefined)
  const thresholdsPace = policies.some((policy) => policy.thresholds.some((threshold) => threshold.action === 'throttle'))
  const sharesCounters = new Set(policies.map((policy) => policy.counterName)).size < policies.length
  // The embedded store answers synchronously: skip a promise per operation on the hot path.
  const memory = store instanceof MemoryStore ? store : undefined
  const leasePrefix = `${globalThis.crypto.randomUUID()}:`
  let leaseCount = 0
  const applicableByModel = new Map<string | undefined, readonly NormalizedPolicy[]>()
  const warnedModels = new Set<string>()
  let localStore: MemoryStore | undefined
  const backgroundWrites = new BackgroundWrites({
    retryDelaysMs: commitRetryDelaysMs,
    onGiveUp: (error) =>
      events.emit('warning', {
        code: 'ChargeLost',
        message: `A commit could not reach the quota store after ${commitRetryDelaysMs.length + 1} attempts; its usage was not charged; its reservation is ${onLeaseExpiry === 'charge' ? 'charged' : 'returned'} when the lease expires: ${String(error)}`,
      }),
  })
  const expiryWatch = new LeaseExpiryWatch<Reservation>({
    checkEveryMs: Math.min(leaseTtlMs, 60_000),
    now,
    pendingWrites: () => backgroundWrites.pending,
    // A reservation that outlived its lease unsettled: the store charges (or returns) its holds.
    onExpired: (reservation) => {
      const holds = reservation.requestPlan.counters.flatMap((counter) =>
        counter.hold && counter.amount > 0
          ? counter.targets.map((target) => ({ policy: target.policy.name, identifier: target.identifier, amount: counter.amount }))
          : [],
      )
      events.emit('leaseExpired', {
        leaseId: reservation.leaseId,
        context: reservation.context,
        model: reservation.model,
        outcome: onLeaseExpiry === 'charge' ? 'charged' : 'released',
        holds,
      })
    },
  })

  function shardOf(context: QuotaContext): string | undefined {
    if (!options.shardKey) return undefined
    try {
      return options.shardKey(context)
    } catch (error) {
      throw new QuotaInputError({ code: 'PolicyFunctionFailed', message: `the shardKey function threw: ${String(error)}`, cause: error })
    }
  }

  function applicablePolicies(model: string | undefined): readonly NormalizedPolicy[] {
    let applicable = applicableByModel.get(model)
    if (applicable) return applicable
    applicable = policies.filter((policy) => policy.matchesModel(model))
    if (applicableByModel.size < maxRememberedModels) applicableByModel.set(model, applicable)
    if (
      hasModelFilters &&
      model !== undefined &&
      !applicable.some((policy) => policy.hasModelFilter) &&
      warnedModels.size < maxRememberedModels &&
      !warnedModels.has(model)
    ) {
      warnedModels.add(model)
      const unlimited = applicable.length === 0 ? '; it is not limited at all' : ''
      events.emit('warning', {
        code: 'UnmatchedModel',
        message: `Model "${model}" matches no per-model policy${unlimited}. Check the policies' \`models\` globs.`,
      })
    }
    return applicable
  }

  function mergedContext(context: QuotaContext | undefined): QuotaContext {
    if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context))) {
      throw new QuotaInputError({ code: 'InvalidContext', message: `Expected the context to be an object like { user: 'alice' }, got ${String(context)}` })
    }
    const ambient = scope.getStore()
    if (!ambient) return context ?? {}
    return context ? { ...ambient, ...context } : ambient
  }

  /** Resolves the request's policies: synchronous unless an `allow` function is asynchronous. */
  function resolveTargets(context: QuotaContext, model: string | undefined, at: number): PolicyTarget[] | Promise<PolicyTarget[]> {
    const applicable = applicablePolicies(model)
    const pending = new Array<PolicyTarget | Promise<PolicyTarget>>(applicable.length)
    let asynchronous = false
    for (let index = 0; index < applicable.length; index += 1) {
      const target = resolveTarget(applicable[index]!, context, at)
      asynchronous ||= target instanceof Promise
      pending[index] = target
    }
    return asynchronous ? Promise.all(pending) : (pending as PolicyTarget[])
  }

  function buildPlan(context: QuotaContext, model: string | undefined, targets: readonly PolicyTarget[], at: number, estimate: EstimateBound): RequestPlan {
    const { bound, maxOutputTokens, requestCap } = hasRequestCaps
      ? applyRequestCaps(targets, context, estimate, at)
      : { bound: estimate, maxOutputTokens: undefined, requestCap: undefined }
    const counters = sharesCounters
      ? mergedCounters(targets, bound, at)
      : targets.map((target) => counterOf([target], target.limit, target.policy.chargeBound(bound), target.policy.counts, at))
    return { context, shard: shardOf(context), model, targets, counters, maxOutputTokens, requestCap }
  }

  /** Policies with the same `sharedName` (and identifier) are one counter: the lowest limit, the largest amount. */
  function mergedCounters(targets: readonly PolicyTarget[], bound: EstimateBound, at: number): CounterPlan[] {
    const byCounter = new Map<string, { targets: PolicyTarget[]; limit: number | undefined; amount: number; counting: boolean }>()
    for (const target of targets) {
      const key = `${target.counter}\u0000${target.identifierKey}`
      let entry = byCounter.get(key)
      if (!entry) {
        entry = { targets: [], limit: undefined, amount: 0, counting: false }
        byCounter.set(key, entry)
      }
      entry.targets.push(target)
      if (target.limit !== undefined) entry.limit = Math.min(entry.limit ?? Infinity, target.limit)
      entry.amount = Math.max(entry.amount, target.policy.chargeBound(bound))
      entry.counting ||= target.policy.counts
    }
    return [...byCounter.values()].map((entry) => counterOf(entry.targets, entry.limit, entry.amount, entry.counting, at))
  }

  function counterOf(targets: readonly PolicyTarget[], limit: number | undefined, amount: number, counting: boolean, at: number): CounterPlan {
    const first = targets[0]!
    return {
      targets,
      counting,
      reportUsed: targets.length === 1 ? first.policy.thresholds.length > 0 : targets.some((target) => target.policy.thresholds.length > 0),
      counter: first.counter,
      identifier: first.identifierKey,
      window: first.policy.window(at),
      limit,
      amount,
      hold: counting,
    }
  }

  /** Synchronous unless an `allow` function is asynchronous. */
  function plan(contextArg: QuotaContext | undefined, request: ReserveRequest, at: number, estimate: EstimateBound): RequestPlan | Promise<RequestPlan> {
    const context = mergedContext(contextArg)
    const model = request.model ?? (typeof context.model === 'string' ? context.model : undefined)
    const targets = resolveTargets(context, model, at)
    return targets instanceof Promise
      ? targets.then((resolved) => buildPlan(context, model, resolved, at, estimate))
      : buildPlan(context, model, targets, at, estimate)
  }

  /** `maxTokensPerRequest`: refuse, or clamp the output budget so the request fits every cap. */
  function applyRequestCaps(targets: readonly PolicyTarget[], context: QuotaContext, estimate: EstimateBound, at: number) {
    let bound = estimate
    let maxOutputTokens: number | undefined
    let requestCap: { policy: string; limit: number } | undefined
    for (const target of targets) {
      const cap = target.policy.maxTokensPerRequest
      if (!cap) continue
      const capLimit = cap.limit
      const limit = typeof capLimit === 'number' ? capLimit : callPolicyFunction(target.policy, 'maxTokensPerRequest', () => capLimit(context))
      if (limit === undefined) continue
      if (requestCap === undefined || limit < requestCap.limit) requestCap = { policy: target.policy.name, limit }
      const requested = target.policy.chargeBound(bound)
      if (requested <= limit) continue
      const outputRoom = limit - target.policy.chargeBound({ input: bound.input, output: 0, total: bound.input })
      if (cap.action === 'clamp' && outputRoom > 0 && (target.policy.count === 'total' || target.policy.count === 'output')) {
        const output = Math.min(bound.output, outputRoom)
        bound = { input: bound.input, output, total: Math.min(bound.total, bound.input + output) }
        maxOutputTokens = output
        continue
      }
      throw new TokenQuotaExceededError({
        code: 'RequestTooLarge',
        violations: [
          {
            policy: target.policy.name,
            identifier: target.identifier,
            class: target.class,
            limit,
            used: 0,
            reserved: 0,
            requested,
            resetAt: at,
            retryAfterMs: null,
          },
        ],
        message: `Token quota "${target.policy.name}": the request needs up to ${requested} tokens, more than the per-request cap of ${limit}`,
      })
    }
    return { bound, maxOutputTokens, requestCap }
  }

  function throttleKeys(counters: readonly CounterPlan[]): string[] {
    return throttle.active === 0 ? [] : counters.map((counter) => `${counter.counter}\u0000${counter.identifier}`)
  }

  async function storeCall<T>(operation: 'reserve' | 'settle' | 'read', run: (target: QuotaStore) => Promise<T>): Promise<{ value: T; local: boolean }> {
    try {
      return { value: await run(store), local: false }
    } catch (error) {
      if (TokenQuotaError.isInstance(error) && !StoreUnavailableError.isInstance(error)) throw error
      events.emit('storeError', { error, operation, failureMode })
      if (failureMode === 'closed' || operation === 'settle') {
        throw StoreUnavailableError.isInstance(error)
          ? error
          : new StoreUnavailableError({ message: `The quota store failed during ${operation}: ${String(error)}`, cause: error })
      }
      localStore ??= new MemoryStore()
      return { value: await run(localStore), local: true }
    }
  }

  /** Places a reservation: synchronously on the memory store. */
  function place(reserveRequest: StoreReserveRequest): Placement | Promise<Placement> {
    if (memory) {
      const result = memory.reserveHeld(reserveRequest)
      return { result, hold: result.ok ? result.hold : undefined, local: false }
    }
    return storeCall('reserve', (target) => target.reserve(reserveRequest)).then(({ value, local }) => ({ result: value, hold: undefined, local }))
  }

  /** Sends a settlement to the store that holds the reservation: synchronously on the memory store. */
  function settleIn(reservation: Reservation, settleRequest: SettleRequest): readonly ChargeOutcome[] | Promise<readonly ChargeOutcome[]> {
    expiryWatch.settled(reservation.leaseId)
    if (reservation.local) return localStore!.settle(settleRequest)
    if (memory) return memory.settleHeld(settleRequest, reservation.hold)
    return storeCall('settle', (primary) => primary.settle(settleRequest)).then(({ value }) => value)
  }

  function refusal(counters: readonly CounterPlan[], result: Extract<ReserveResult, { ok: false }>, at: number): TokenQuotaExceededError {
    const violations = result.refusals.map(({ index, snapshot, retryAt }): QuotaViolation => {
      const counter = counters[index]!
      const reporter = reportingTarget(counter)
      return {
        policy: reporter.policy.name,
        identifier: reporter.identifier,
        class: reporter.class,
        limit: counter.limit ?? 0,
        used: snapshot.used,
        reserved: snapshot.reserved,
        requested: counter.amount,
        resetAt: snapshot.resetAt,
        retryAfterMs: Math.max(0, retryAt - at),
      }
    })
    violations.sort((a, b) => (b.retryAfterMs ?? 0) - (a.retryAfterMs ?? 0))
    return new TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations })
  }

  function tooLarge(counters: readonly CounterPlan[], at: number): TokenQuotaExceededError | undefined {
    let violations: QuotaViolation[] | undefined
    for (const counter of counters) {
      const { limit, amount } = counter
      if (limit === undefined || amount <= limit) continue
      const reporter = reportingTarget(counter)
      violations ??= []
      violations.push({
        policy: reporter.policy.name,
        identifier: reporter.identifier,
        class: reporter.class,
        limit,
        used: 0,
        reserved: 0,
        requested: amount,
        resetAt: at,
        retryAfterMs: null,
      })
    }
    return violations && new TokenQuotaExceededError({ code: 'RequestTooLarge', violations })
  }

  function decisions(counters: readonly CounterPlan[], snapshots: readonly CounterSnapshot[]): PolicyDecision[] {
    return counters.flatMap((counter, index) => counter.targets.map((target) => decisionOf(target, snapshots[index]!)))
  }

  /**
   * A throttle's interval. A pacing function that throws or returns nonsense must not fail the
   * reservation or commit that crossed the threshold (both are already in the store): it is
   * reported, and the default interval is used.
   */
  function pacingInterval(policy: NormalizedPolicy, option: number | ((context: QuotaContext) => number) | undefined, context: QuotaContext): number {
    if (typeof option !== 'function') return option ?? defaultPacingMs
    let value: unknown
    try {
      value = option(context)
    } catch (error) {
      value = error
    }
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value
    events.emit('warning', {
      code: 'PolicyFunctionFailed',
      message: `The minIntervalMs function of policy "${policy.name}" failed (${String(value)}); pacing at ${defaultPacingMs} ms`,
    })
    return defaultPacingMs
  }

  /** Throttle thresholds already passed (possibly by another process): pace from now on. */
  function noticeThrottles(counters: readonly CounterPlan[], snapshots: readonly CounterSnapshot[], context: QuotaContext, at: number): void {
    counters.forEach((counter, index) => {
      const snapshot = snapshots[index]!
      for (const target of counter.targets) {
        const allowed = allowedOf(target)
        for (const threshold of target.policy.thresholds) {
          if (threshold.action !== 'throttle' || snapshot.used < threshold.at * allowed) continue
          startThrottle(counter, target, threshold, snapshot.resetAt, context, at)
        }
      }
    })
  }

  function startThrottle(
    counter: CounterPlan,
    target: PolicyTarget,
    threshold: NormalizedPolicy['thresholds'][number],
    until: number,
    context: QuotaContext,
    at: number,
  ): void {
    const minIntervalMs = pacingInterval(target.policy, threshold.minIntervalMs, context)
    const key = `${counter.counter}\u0000${counter.identifier}`
    if (throttle.activate(key, until, minIntervalMs, at)) {
      events.emit('throttle', { policy: target.policy.name, identifier: target.identifier, until, minIntervalMs })
    }
  }

  /** Settles a reservation: synchronously on the memory store, else once the store answers. */
  function settle(reservation: Reservation, usage: Usage | undefined, markedEstimated = false): CommitResult | Promise<CommitResult> {
    const { requestPlan, bound } = reservation
    const normalized =
      usage === undefined
        ? { input: bound.input, output: Math.max(0, bound.total - bound.input), total: bound.total, cachedInput: 0, reasoning: 0 }
        : normalizeUsage(usage)
    const at = now()
    const charges = chargesFor(requestPlan, reservation.placements, (counter) =>
      !counter.counting ? 0 : usage === undefined ? counter.amount : chargeOf(counter, normalized),
    )
    const settleRequest = { leaseId: reservation.leaseId, now: at, expiresAt: reservation.expiresAt, charges, shard: requestPlan.shard }
    const estimated = usage === undefined || markedEstimated
    const { requestCap } = requestPlan
    if (requestCap !== undefined && usage !== undefined && normalized.total > requestCap.limit) {
      events.emit('warning', {
        code: 'OverRequestCap',
        message: `The provider reported ${normalized.total} tokens for a call capped at ${requestCap.limit} by "${requestCap.policy}": the prompt estimate fell short of the provider's count`,
      })
    }
    const settling = settleIn(reservation, settleRequest)
    if (!(settling instanceof Promise)) {
      noticeCrossings(reservation, settling, at)
      return committed(reservation, charges, normalized, estimated)
    }
    if (commitMode === 'await') {
      return settling.then((outcomes) => {
        noticeCrossings(reservation, outcomes, at)
        return committed(reservation, charges, normalized, estimated)
      })
    }
    writeInBackground(reservation, settleRequest, settling, (outcomes) => noticeCrossings(reservation, outcomes, at))
    return committed(reservation, charges, normalized, estimated)
  }

  /** Tracks a settle already sent; retries it (with the same lease id, so never charged twice) if it fails. */
  function writeInBackground(
    reservation: Reservation,
    settleRequest: SettleRequest,
    first: Promise<readonly ChargeOutcome[]>,
    landed: (outcomes: readonly ChargeOutcome[]) => void,
  ): void {
    backgroundWrites.run(first, async () => settleIn(reservation, settleRequest), landed)
  }

  /** Emits the `threshold` events of the levels this charge crossed, and starts throttles. */
  function emitThresholds(counter: CounterPlan, policyTarget: PolicyTarget, outcome: ChargeOutcome, context: QuotaContext, at: number): void {
    const allowed = allowedOf(policyTarget)
    for (const threshold of policyTarget.policy.thresholds) {
      const level = threshold.at * allowed
      if (!(outcome.usedBefore < level && outcome.usedAfter >= level)) continue
      const resetAt = counter.window.kind === 'fixed' ? counter.window.end : at
      events.emit('threshold', {
        policy: policyTarget.policy.name,
        identifier: policyTarget.identifier,
        class: policyTarget.class,
        threshold,
        used: outcome.usedAfter,
        allowed,
        resetAt,
        context,
      })
      if (threshold.action === 'throttle') startThrottle(counter, policyTarget, threshold, thresholdUntil(counter, resetAt, at), context, at)
    }
  }

  /** Emits the `threshold` events of a settlement, once the store has answered. */
  function noticeCrossings(reservation: Reservation, outcomes: readonly ChargeOutcome[], at: number): void {
    const { counters, context } = reservation.requestPlan
    for (let index = 0; index < counters.length; index += 1) {
      const counter = counters[index]!
      if (!counter.reportUsed) continue
      for (const policyTarget of counter.targets) emitThresholds(counter, policyTarget, outcomes[index]!, context, at)
    }
  }

  /** What a settlement charged, per counting policy; emits the `usage` event. */
  function committed(reservation: Reservation, charges: readonly Charge[], usage: NormalizedUsage, estimated: boolean): CommitResult {
    const { requestPlan } = reservation
    const reported: Array<CommitResult['charges'][number]> = []
    for (let index = 0; index < requestPlan.counters.length; index += 1) {
      for (const target of requestPlan.counters[index]!.targets) {
        if (target.policy.counts) reported.push({ policy: target.policy.name, identifier: target.identifier, amount: charges[index]!.amount })
      }
    }
    if (events.has('usage'))
      events.emit('usage', { leaseId: reservation.leaseId, context: requestPlan.context, model: requestPlan.model, usage, estimated, charges: reported })
    return { charges: reported, estimated }
  }

  /**
   * Plans, paces and places a reservation, then hands it to `finish`. One async frame, with no
   * await on the memory store's path: a quota check costs next to nothing there.
   */
  async function reserveWith<T>(
    contextArg: QuotaContext | undefined,
    request: ReserveRequest,
    holds: boolean,
    defaultEstimate: number,
    finish: (reservation: Reservation) => T,
  ): Promise<T> {
    let at = now()
    const normalized = normalizeEstimate(request.estimate ?? defaultEstimate)
    const estimate = typeof request.estimate === 'object' ? withInput(normalized, learning.correct(request.model, normalized.input)) : normalized
    const planning = plan(contextArg, request, at, estimate)
    let requestPlan = planning instanceof Promise ? await planning : planning
    if (throttle.active > 0) {
      await throttle.wait(throttleKeys(requestPlan.counters), at)
      // Pacing may have taken long enough to cross into another window: plan again, at the new time.
      at = now()
      requestPlan = await plan(contextArg, request, at, estimate)
    }
    if (!holds) requestPlan = { ...requestPlan, counters: requestPlan.counters.map((counter) => ({ ...counter, hold: false })) }

    const oversized = tooLarge(requestPlan.counters, at)
    if (oversized) {
      events.emit('exceeded', { error: oversized, context: requestPlan.context, model: requestPlan.model })
      throw oversized
    }
    const leaseId = leasePrefix + ++leaseCount
    const expiresAt = at + leaseTtlMs
    const reserveRequest = { leaseId, now: at, expiresAt, counters: requestPlan.counters, shard: requestPlan.shard, onExpiry: onLeaseExpiry }
    expiryWatch.check(at)
    const placing = place(reserveRequest)
    const { result, hold, local } = placing instanceof Promise ? await placing : placing
    if (!result.ok) {
      const error = refusal(requestPlan.counters, result, at)
      events.emit('exceeded', { error, context: requestPlan.context, model: requestPlan.model })
      throw error
    }
    if (thresholdsPace) noticeThrottles(requestPlan.counters, result.snapshots, requestPlan.context, at)
    const { maxOutputTokens } = requestPlan
    const reservation: Reservation = {
      leaseId,
      context: requestPlan.context,
      model: requestPlan.model,
      expiresAt,
      maxOutputTokens,
      requestPlan,
      placements: result.placements,
      snapshots: result.snapshots,
      bound:
        maxOutputTokens === undefined
          ? estimate
          : { input: estimate.input, output: maxOutputTokens, total: Math.min(estimate.total, estimate.input + maxOutputTokens) },
      local,
      hold,
    }
    if (holds && requestPlan.counters.some((counter) => counter.amount > 0)) expiryWatch.watch(reservation)
    return finish(reservation)
  }

  const settlement: LeaseSettlement<Reservation> = {
    commit: (reservation, usage, commitOptions: CommitOptions | undefined) => settle(reservation, usage, commitOptions?.estimated),
    release: (reservation) => {
      const charges = chargesFor(reservation.requestPlan, reservation.placements, () => 0)
      const settleRequest = { leaseId: reservation.leaseId, now: now(), expiresAt: reservation.expiresAt, charges, shard: reservation.requestPlan.shard }
      const settling = settleIn(reservation, settleRequest)
      if (!(settling instanceof Promise)) return
      if (commitMode === 'await') return settling.then(() => undefined)
      writeInBackground(reservation, settleRequest, settling, () => undefined)
    },
    decisions: (reservation) => decisions(reservation.requestPlan.counters, reservation.snapshots),
  }
  const leaseOf = (reservation: Reservation): QuotaLease => new Lease(reservation, settlement)
  const decisionsOf = (reservation: Reservation) => decisions(reservation.requestPlan.counters, reservation.snapshots)

  const quota: TokenQuota = {
    policies,
    store,
    estimator: options.estimator ?? estimateTokens,
    now,
    withContext(context, fn) {
      return scope.run(mergedContext(context), fn)
    },
    currentContext() {
      return scope.getStore()
    },
    reserve: (context, request = {}) => reserveWith(context, request, true, 0, leaseOf),
    check: (context, request = {}) => reserveWith(context, request, false, 1, decisionsOf),
    async record(context, usage, recordOptions = {}) {
      normalizeUsage(usage)
      const at = now()
      const requestPlan = await plan(context, { model: recordOptions.model }, at, normalizeEstimate(0))
      const counting = { ...requestPlan, counters: requestPlan.counters.map((counter) => ({ ...counter, limit: undefined, amount: 0 })) }
      const leaseId = leasePrefix + ++leaseCount
      const expiresAt = at + leaseTtlMs
      const { result, hold, local } = await place({ leaseId, now: at, expiresAt, counters: counting.counters, shard: counting.shard })
      if (!result.ok) throw new StoreUnavailableError({ message: 'The store refused a reservation that has no limit' })
      const bound = normalizeEstimate(0)
      return settle(
        {
          leaseId,
          context: counting.context,
          model: counting.model,
          expiresAt,
          maxOutputTokens: undefined,
          requestPlan: counting,
          placements: result.placements,
          snapshots: result.snapshots,
          bound,
          local,
          hold,
        },
        usage,
      )
    },
    async status(context, statusOptions = {}) {
      expiryWatch.check(now())
      // Read this engine's own commits: wait for the background writes on the wire.
      if (backgroundWrites.pending > 0) await backgroundWrites.landed()
      const at = now()
      const merged = mergedContext(context)
      const model = statusOptions.model ?? (typeof merged.model === 'string' ? merged.model : undefined)
      const selected = model === undefined ? policies : applicablePolicies(model)
      const targets = await Promise.all(selected.map((policy) => statusTarget(policy, merged, at)))
      const { value: snapshots } = await storeCall('read', (target) =>
        target.read({
          now: at,
          counters: targets.map((target) => ({ counter: target.counter, identifier: target.identifierKey, window: target.policy.window(at) })),
          shard: shardOf(merged),
        }),
      )
      return targets.map((target, index) => decisionOf(target, snapshots[index]!))
    },
    on: (name, listener) => events.on(name, listener),
    emit: (name, event) => events.emit(name, event),
    async flush() {
      await backgroundWrites.flush()
      await store.flush?.()
    },
    noteEstimate(model, estimated, reported) {
      const ratio = learning.note(model ?? '', estimated, reported)
      if (ratio !== undefined) {
        events.emit('warning', {
          code: 'EstimateLow',
          message: `The provider counted ${reported} prompt tokens for a ${model ?? 'model'} call estimated at ${estimated} (${ratio.toFixed(2)}×); later estimates for this model are raised to match`,
        })
      }
    },
    estimateStats: () => learning.stats(),
    async close() {
      await quota.flush()
      expiryWatch.stop()
      await store.close?.()
    },
  }
  return Object.freeze(quota)
}

/** An estimate with its input raised to `input`. */
function withInput(estimate: EstimateBound, input: number): EstimateBound {
  return input === estimate.input ? estimate : { input, output: estimate.output, total: input + estimate.output }
}

/** A status target: an unknown class reads as a zero limit instead of throwing. */
async function statusTarget(policy: NormalizedPolicy, context: QuotaContext, at: number): Promise<PolicyTarget> {
  try {
    return await resolveTarget(policy, context, at)
  } catch (error) {
    if (!(TokenQuotaExceededError.isInstance(error) && error.code === 'UnknownQuotaClass')) throw error
    const target = await resolveTarget({ ...policy, mode: 'count-only', enforces: false, counts: true }, context, at)
    return { ...target, policy, limit: 0 }
  }
}

/**
 * A custom clock, read in whole milliseconds: stores compare window starts exactly, so a fraction
 * (e.g. `performance.timeOrigin + performance.now()`) would never match twice.
 */
function wholeMilliseconds(clock: () => number): () => number {
  return () => {
    const time = clock()
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw new QuotaConfigError({
        code: 'InvalidConfiguration',
        field: 'now',
        message: `Expected the \`now\` clock to return epoch milliseconds, got \`${String(time)}\``,
      })
    }
    return Math.floor(time)
  }
}
