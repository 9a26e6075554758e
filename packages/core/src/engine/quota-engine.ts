import { BackgroundWrites } from './background-writes.js'
import { ContextScope } from './context-scope.js'
import type { PolicyDecision } from '../plan/decision.js'
import { EstimateLearning } from '../estimate/estimate-learning.js'
import { QuotaConfigError, QuotaInputError, StoreUnavailableError, TokenQuotaExceededError } from '../shared/errors.js'
import { CreditWatch } from './credit-watch.js'
import type { QuotaEvents } from './events.js'
import { statusTarget, targetWindow } from '../policy/identifier.js'
import { checkContextIdentifiers } from '../policy/identifier-length.js'
import { Rollover } from './rollover.js'
import { storedAnchors } from './stored-anchors.js'
import { requestResource } from '../policy/resource.js'
import { type CommitResult, checkLifetime, Lease, type QuotaLease } from './lease.js'
import { LeaseExpiryWatch } from './lease-expiry-watch.js'
import { type CapRefusal, capRefusalOf } from '../plan/cap-refusal.js'
import { Planner } from '../plan/planner.js'
import { decisionOf, type RequestPlan, recordOf } from '../plan/request-plan.js'
import type { QuotaStore, ReadRequest } from '../store/quota-store.js'
import { refusalsInWindow } from '../store/store-admin.js'
import type { ReserveRequest } from './token-quota-options.js'
import type { EstimateBound, QuotaContext, Usage } from '../shared/types.js'
import { normalizeEstimate, normalizeUsage } from '../shared/usage.js'
import type { Reservation } from './reservation.js'
import type { EngineSettings } from './settings.js'
import { Settler } from './settler.js'
import { StoreAccess } from './store-access.js'
import { ThresholdWatch } from './threshold-watch.js'

/** Waits before each retry of a background commit; then it is given up. */
const commitRetryDelaysMs = [100, 1000, 5000]

/**
 * The engine behind `createTokenQuota()`: wires the planner, the store and the events. A
 * reservation is one async frame with no await on a store that answers at once.
 */
export class QuotaEngine {
  readonly settings: EngineSettings
  readonly events: QuotaEvents
  readonly learning = new EstimateLearning()
  readonly access: StoreAccess
  readonly planner: Planner
  readonly backgroundWrites: BackgroundWrites
  readonly expiryWatch: LeaseExpiryWatch<Reservation>
  readonly #scope = new ContextScope()
  readonly #thresholds: ThresholdWatch
  readonly #settler: Settler
  readonly #leasePrefix = `${globalThis.crypto.randomUUID()}:`
  /** Some policy has a `throttle` threshold: a reservation may start pacing its identifier. */
  readonly #thresholdsPace: boolean
  /** The store applies operators' overrides (`StoreAdmin`), so only it knows a counter's limit. */
  readonly #overridable: boolean
  /** Some policy is a credit balance: stores' answers may carry expiries, unpaid charges, low balances. */
  readonly #credits: CreditWatch | undefined
  #leaseCount = 0
  /** Some policy has billing cycles: a caller's anchor may be in the store. */
  readonly #anchored: boolean
  /** Some policy rolls unused allowance over into credits. */
  readonly #rollover: Rollover | undefined

  constructor(settings: EngineSettings, store: QuotaStore, events: QuotaEvents) {
    this.settings = settings
    this.events = events
    this.#credits = creditWatchFor(settings, store, events)
    const { now, onLeaseExpiry } = settings
    this.access = new StoreAccess(store, settings.failureMode, events, now)
    this.#overridable = store.admin !== undefined
    this.planner = new Planner({
      policies: settings.policies,
      shardOf: settings.shardOf,
      pricingOf: settings.prices && ((model, at, provider) => settings.prices!.pricing(model, at, provider)),
      priceTables: settings.prices?.tables.map((table) => table.name),
      onUnmatchedModel: (model, unlimited) =>
        events.emit('warning', {
          code: 'UnmatchedModel',
          message: `Model "${model}" matches no per-model policy${unlimited ? '; it is not limited at all' : ''}. Check the policies' \`models\` globs.`,
        }),
      onMissingAnchor: (policy) =>
        events.emit('warning', {
          code: 'MissingAnchor',
          message: `Policy "${policy}" has billing cycles (\`anchor\`) but a request's context gave no anchor: that caller is counted in calendar windows (from the 1st of the month) until it has one. This warning is emitted once per policy.`,
        }),
      onUnmatchedTool: (tool) =>
        events.emit('warning', {
          code: 'UnmatchedTool',
          message: `Tool "${tool}" matches no policy's \`tools\` globs; its calls are not limited at all.`,
        }),
    })
    this.#thresholds = new ThresholdWatch(events)
    this.#anchored = settings.policies.some((policy) => policy.anchor !== undefined && policy.identifier !== undefined)
    this.#rollover = settings.policies.some((policy) => policy.rollover !== undefined)
      ? new Rollover({ policies: settings.policies, access: this.access, credits: store.credits, events })
      : undefined
    this.#thresholdsPace = settings.policies.some((policy) => policy.thresholds.some((threshold) => threshold.action === 'throttle'))
    this.backgroundWrites = new BackgroundWrites({
      retryDelaysMs: commitRetryDelaysMs,
      onGiveUp: (error) =>
        events.emit('warning', {
          code: 'ChargeLost',
          message: `A commit could not reach the quota store after ${commitRetryDelaysMs.length + 1} attempts; its usage was not charged; its reservation is ${onLeaseExpiry === 'charge' ? 'charged' : 'returned'} when the lease expires: ${String(error)}`,
        }),
    })
    this.expiryWatch = new LeaseExpiryWatch<Reservation>({
      checkEveryMs: Math.min(settings.leaseTtlMs, 60_000),
      now,
      pendingWrites: () => this.backgroundWrites.pending,
      onExpired: (reservation) => this.#emitExpired(reservation),
    })
    this.#settler = new Settler({
      access: this.access,
      planner: this.planner,
      events,
      thresholds: this.#thresholds,
      credits: this.#credits,
      backgroundWrites: this.backgroundWrites,
      commitMode: settings.commitMode,
      now,
      settling: (reservation) => this.expiryWatch.settled(reservation),
      extended: (reservation, expiresAt) => {
        reservation.expiresAt = expiresAt
        this.expiryWatch.moved(reservation)
      },
    })
  }

  withContext<T>(context: QuotaContext, fn: () => T): T {
    return this.#scope.run(this.mergedContext(context), fn)
  }

  currentContext(): QuotaContext | undefined {
    return this.#scope.current()
  }

  /** `context` merged over the ambient one. */
  mergedContext(context: QuotaContext | undefined): QuotaContext {
    if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context))) {
      throw new QuotaInputError({ code: 'InvalidContext', message: `Expected the context to be an object like { user: 'alice' }, got ${String(context)}` })
    }
    if (context !== undefined) checkContextIdentifiers(context)
    const ambient = this.#scope.current()
    if (!ambient) return context ?? {}
    return context ? { ...ambient, ...context } : ambient
  }

  async reserve(context: QuotaContext | undefined, request: ReserveRequest): Promise<QuotaLease> {
    return new Lease(await this.#reserve(context, request, true, 0), this.#settler)
  }

  async check(context: QuotaContext | undefined, request: ReserveRequest): Promise<readonly PolicyDecision[]> {
    const reservation = await this.#reserve(context, request, false, 1)
    return this.planner.decisions(reservation.requestPlan.counters, reservation.snapshots)
  }

  /** Count-only: a reservation that holds nothing and never refuses, committed with `usage`. */
  async record(context: QuotaContext | undefined, usage: Usage, target: Pick<ReserveRequest, 'model' | 'tool' | 'provider'>): Promise<CommitResult> {
    normalizeUsage(usage)
    const at = this.settings.now()
    const nothing = normalizeEstimate(0)
    const plan = Planner.countingOnly(await this.#plan(context, target, at, nothing))
    const reservation = await this.#place(plan, at, nothing)
    if (reservation instanceof TokenQuotaExceededError) throw new StoreUnavailableError({ message: 'The store refused a reservation that has no limit' })
    return this.#settler.commit(reservation, usage, undefined)
  }

  async status(context: QuotaContext | undefined, target: Pick<ReserveRequest, 'model' | 'tool'>): Promise<readonly PolicyDecision[]> {
    this.expiryWatch.check(this.settings.now())
    // Read this engine's own commits: wait for the background writes on the wire.
    if (this.backgroundWrites.pending > 0) await this.backgroundWrites.landed()
    const at = this.settings.now()
    const merged = this.mergedContext(context)
    const resource = requestResource(target, merged)
    const policies = resource.name === undefined ? this.settings.policies : this.planner.applicable(resource)
    const anchors = this.#anchored ? await storedAnchors(this.access.store, policies, merged, at, this.settings.shardOf(merged)) : undefined
    const targets = await Promise.all(policies.map((policy) => statusTarget(policy, merged, at, anchors?.get(policy.name))))
    // With its policy's limit, the store answers the limit in force (overrides and grants), as it does to a reservation.
    const counters = targets.map((target) => ({
      counter: target.counter,
      identifier: target.identifierKey,
      window: targetWindow(target, at),
      limit: target.limit,
    }))
    const shard = this.settings.shardOf(merged)
    const [snapshots, runs] = await Promise.all([this.access.read({ now: at, counters, shard }), this.access.refusalRuns({ now: at, counters, shard })])
    this.#credits?.noticeSnapshots(
      targets.map((target, index) => ({ window: counters[index]!.window, targets: [target] })),
      snapshots,
    )
    return targets.map((target, index) => {
      const snapshot = snapshots[index]!
      return { ...decisionOf(target, snapshot), refusals: refusalsInWindow(runs[index], snapshot.windowStart) }
    })
  }

  /** Plans, paces and places a reservation; throws the refusal. */
  async #reserve(context: QuotaContext | undefined, request: ReserveRequest, holds: boolean, defaultEstimate: number): Promise<Reservation> {
    const { now } = this.settings
    if (request.leaseTtlMs !== undefined) checkLifetime(request.leaseTtlMs)
    let at = now()
    const normalized = normalizeEstimate(request.estimate ?? defaultEstimate)
    const estimate = typeof request.estimate === 'object' ? withInput(normalized, this.learning.correct(request.model, normalized.input)) : normalized
    let plan: RequestPlan
    try {
      const planning = this.#plan(context, request, at, estimate)
      plan = planning instanceof Promise ? await planning : planning
      if (this.#thresholds.pacing) {
        await this.#thresholds.wait(plan.counters, at)
        // Pacing may have taken long enough to cross into another window: plan again, at the new time.
        at = now()
        plan = await this.#plan(context, request, at, estimate)
      }
    } catch (error) {
      const refusal = capRefusalOf(error)
      if (refusal) await this.#refusedByCap(error as TokenQuotaExceededError, refusal, context, request, at)
      throw error
    }
    const rollingOver = this.#rollover?.due(plan, at)
    if (rollingOver) await rollingOver
    if (!holds) plan = Planner.checkingOnly(plan)
    else if (this.#credits) checkCreditHolds(plan)
    // A store with overrides may raise a limit: it decides, and the refusal tells a request too large.
    const oversized = this.#overridable ? undefined : this.planner.tooLarge(plan.counters, at)
    if (oversized) throw this.#exceeded(oversized, plan)
    const placing = this.#place(plan, at, estimate, request.leaseTtlMs)
    const reservation = placing instanceof Promise ? await placing : placing
    if (reservation instanceof TokenQuotaExceededError) throw this.#exceeded(reservation, plan)
    if (holds && plan.counters.some((counter) => counter.amount > 0)) this.expiryWatch.watch(reservation, request.leaseTtlMs === undefined)
    return reservation
  }

  #plan(context: QuotaContext | undefined, request: ReserveRequest, at: number, estimate: EstimateBound): RequestPlan | Promise<RequestPlan> {
    const { prices } = this.settings
    // Money policies price every plan: the tables load once, before the first.
    if (prices && !prices.loaded) return prices.ready().then(() => this.#plan(context, request, at, estimate))
    const merged = this.mergedContext(context)
    const resource = requestResource(request, merged)
    const stored = this.#anchored && storedAnchors(this.access.store, this.planner.applicable(resource), merged, at, this.settings.shardOf(merged))
    if (stored) return stored.then((anchors) => this.planner.plan(merged, resource, at, estimate, request.provider, anchors))
    return this.planner.plan(merged, resource, at, estimate, request.provider)
  }

  /** Sends the plan to the store: the reservation, or the refusal. */
  #place(
    plan: RequestPlan,
    at: number,
    estimate: EstimateBound,
    lifetime?: number,
  ): Reservation | TokenQuotaExceededError | Promise<Reservation | TokenQuotaExceededError> {
    const leaseId = this.#leasePrefix + ++this.#leaseCount
    const expiresAt = at + (lifetime ?? this.settings.leaseTtlMs)
    this.expiryWatch.check(at)
    const record = recordOf(plan)
    const placing = this.access.reserve({
      leaseId,
      now: at,
      expiresAt,
      counters: plan.counters,
      shard: plan.shard,
      onExpiry: this.settings.onLeaseExpiry,
      record,
    })
    const placed = ({ result, local }: Awaited<typeof placing>): Reservation | TokenQuotaExceededError => {
      if (!result.ok) {
        const { refusals } = result
        this.#credits?.noticeSnapshots(
          plan.counters,
          refusals.map((refusal) => refusal.snapshot),
          (position) => refusals[position]!.index,
        )
        return this.planner.refusal(plan.counters, result, at)
      }
      this.#credits?.noticeSnapshots(plan.counters, result.snapshots)
      if (this.#thresholdsPace) this.#thresholds.noticeThrottles(plan.counters, result.snapshots, plan.context, at)
      const { maxOutputTokens } = plan
      const bound =
        maxOutputTokens === undefined
          ? estimate
          : { input: estimate.input, output: maxOutputTokens, total: Math.min(estimate.total, estimate.input + maxOutputTokens) }
      return {
        leaseId,
        context: plan.context,
        model: plan.model,
        expiresAt,
        maxOutputTokens,
        requestPlan: plan,
        placements: result.placements,
        held: result.held,
        snapshots: result.snapshots,
        bound,
        local,
        hold: result.hold,
      }
    }
    return placing instanceof Promise ? placing.then(placed) : placed(placing)
  }

  /** A per-request cap refused: told (`exceeded`) and recorded on its counter as the store records its own refusals. */
  async #refusedByCap(error: TokenQuotaExceededError, refusal: CapRefusal, context: QuotaContext | undefined, request: ReserveRequest, at: number) {
    const merged = this.mergedContext(context)
    const resource = requestResource(request, merged)
    const model = resource.kind === 'model' ? resource.name : undefined
    this.events.emit('exceeded', { error, context: merged, model, ...(resource.kind === 'tool' && { tool: resource.name }) })
    await this.access.noteRefusals({ now: at, shard: this.settings.shardOf(merged), refusals: [refusal] })
  }

  #exceeded(error: TokenQuotaExceededError, plan: RequestPlan): TokenQuotaExceededError {
    this.events.emit('exceeded', { error, context: plan.context, model: plan.model, ...(plan.tool !== undefined && { tool: plan.tool }) })
    return error
  }

  /** A reservation that outlived its lease unsettled: the store charges (or returns) its holds. */
  #emitExpired(reservation: Reservation): void {
    const { held } = reservation
    const holds = reservation.requestPlan.counters.flatMap((counter, index) =>
      held[index]! > 0 ? counter.targets.map((target) => ({ policy: target.policy.name, identifier: target.identifier, amount: held[index]! })) : [],
    )
    const outcome = this.settings.onLeaseExpiry === 'charge' ? 'charged' : 'released'
    const { tool } = reservation.requestPlan
    this.events.emit('leaseExpired', {
      leaseId: reservation.leaseId,
      context: reservation.context,
      model: reservation.model,
      ...(tool !== undefined && { tool }),
      outcome,
      holds,
    })
    if (outcome === 'charged') this.#noticeExpiryUnpaid(reservation)
  }

  /** What a charged expiry left unpaid on a balance (`creditsUnpaid`), told once the store has charged it. */
  #noticeExpiryUnpaid(reservation: Reservation): void {
    const credits = this.access.store.credits
    const { counters, shard } = reservation.requestPlan
    const balances = counters.filter((counter, index) => counter.window.kind === 'balance' && reservation.held[index]! > 0)
    if (!this.#credits || !credits || reservation.local || balances.length === 0) return
    const store = { read: (request: ReadRequest) => this.access.read(request), credits }
    const noticed = this.#credits
      .noticeExpiryCharge(store, { now: this.settings.now(), shard, counters: balances }, reservation.leaseId)
      .catch((error: unknown) => this.events.emit('storeError', { error, operation: 'read', failureMode: this.settings.failureMode }))
    this.backgroundWrites.run(
      noticed,
      () => noticed,
      () => undefined,
    )
  }
}

/** An estimate with its input raised to `input`. */
function withInput(estimate: EstimateBound, input: number): EstimateBound {
  return input === estimate.input ? estimate : { input, output: estimate.output, total: input + estimate.output }
}

/**
 * The credit watch of a quota with balance policies; `undefined` without any.
 * @throws QuotaConfigError when a policy is a balance and the store cannot hold credits
 */
function creditWatchFor(settings: EngineSettings, store: QuotaStore, events: QuotaEvents): CreditWatch | undefined {
  const balance = settings.policies.find((policy) => policy.type === 'balance')
  if (!balance) return undefined
  if (!store.credits)
    throw new QuotaConfigError({
      code: 'InvalidConfiguration',
      policy: balance.name,
      field: 'type',
      message: `a \`type: 'balance'\` policy needs a store that holds credits (\`store.credits\`), and ${store.constructor?.name ?? 'this store'} has none; use MemoryStore, or a store that supports credit balances`,
    })
  return new CreditWatch(events)
}

/**
 * Refuses a reservation that would hold nothing on a credit balance: its call could then use
 * credits it never held (an estimate of 0 holds 0, and the excess of a spill group goes to the
 * allowance) — paid usage must be reserved, never free.
 * @throws QuotaInputError (`InvalidEstimate`)
 */
function checkCreditHolds(plan: RequestPlan): void {
  const unheld = plan.counters.find((counter) => counter.window.kind === 'balance' && counter.hold && counter.amount === 0)
  if (!unheld) return
  throw new QuotaInputError({
    code: 'InvalidEstimate',
    policy: unheld.targets[0]!.policy.name,
    message:
      'draws from a credit balance: reserve with an estimate (the most the call may use); a reservation of 0 would hold no credits for a call that spends them',
  })
}
