import { type QuotaViolation, TokenQuotaExceededError, UnpricedModelError } from '../shared/errors.js'
import type { ModelPricing } from '../price/price-table.js'
import { callPolicyFunction, type PolicyTarget, resolveTarget, targetWindow } from '../policy/identifier.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import type { RequestResource } from '../policy/resource.js'
import type { CounterSnapshot, ReserveResult } from '../store/quota-store.js'
import type { EstimateBound, QuotaContext } from '../shared/types.js'
import { withCapRefusal } from './cap-refusal.js'
import { tallyPlans } from './cycle-tally.js'
import type { PolicyDecision } from './decision.js'
import { type CounterPlan, decisionOf, type RequestPlan, reportingTarget } from './request-plan.js'
import { withSpillGroups } from './spill.js'

/** Models seen that no per-model policy matched, and cached applicable sets; bounded so hostile names cannot grow them. */
const maxRememberedModels = 1000

export interface PlannerOptions {
  readonly policies: readonly NormalizedPolicy[]
  /** The request's shard (`TokenQuotaOptions.shardKey`), already guarded. */
  readonly shardOf: (context: QuotaContext) => string | undefined
  /** A model that no per-model policy matches, once per model. */
  readonly onUnmatchedModel: (model: string, unlimited: boolean) => void
  /** A tool that no policy's `tools` matches (so nothing limits it), once per tool. */
  readonly onUnmatchedTool: (tool: string) => void
  /** An anchored policy's request without an anchor (so counted in calendar windows), once per policy. */
  readonly onMissingAnchor?: (policy: string) => void
  /** The model's price, for money policies (`count: 'usd'`); the tables are loaded before planning. */
  readonly pricingOf?: (model: string, at: number, provider: string | undefined) => ModelPricing | undefined
  /** The price tables' names, for messages. */
  readonly priceTables?: readonly string[]
}

/**
 * The pure part of a reservation: context + policies + request → the counters to touch, the
 * refusals and the decisions. No I/O and no clock of its own (the time is an argument); `allow`
 * functions, which may be asynchronous, are the only code it does not own.
 */
export class Planner {
  readonly #policies: readonly NormalizedPolicy[]
  readonly #options: PlannerOptions
  readonly #hasModelFilters: boolean
  readonly #hasRequestCaps: boolean
  readonly #sharesCounters: boolean
  readonly #countsMoney: boolean
  readonly #rollsOver: boolean
  /** Anchored policies not yet warned about a request without an anchor. */
  readonly #anchorUnwarned: Set<string>
  /** Balance policies that an allowance spills into, by the allowance's name. */
  readonly #spills: ReadonlyMap<string, NormalizedPolicy>
  readonly #applicableByResource = new Map<string, readonly NormalizedPolicy[]>()
  readonly #warned = new Set<string>()

  constructor(options: PlannerOptions) {
    const { policies } = options
    this.#policies = policies
    this.#options = options
    this.#hasModelFilters = policies.some((policy) => policy.resource.kind === 'model' && policy.resource.globs !== undefined)
    this.#hasRequestCaps = policies.some((policy) => policy.maxTokensPerRequest !== undefined)
    this.#sharesCounters = new Set(policies.map((policy) => policy.counterName)).size < policies.length
    this.#countsMoney = policies.some((policy) => policy.unit === 'usd')
    this.#rollsOver = policies.some((policy) => policy.rollover !== undefined)
    this.#anchorUnwarned = new Set(policies.filter((policy) => policy.anchor !== undefined).map((policy) => policy.name))
    this.#spills = new Map(
      policies.flatMap((policy) => {
        const balance = policies.find((candidate) => candidate.name === policy.spillTo)
        return balance ? [[policy.name, balance] as const] : []
      }),
    )
  }

  /** The policies a request for `resource` answers to: those that select it (a model call without a model: those without `models`). */
  applicable(resource: RequestResource): readonly NormalizedPolicy[] {
    const key = `${resource.kind}:${resource.name ?? ''}`
    let applicable = this.#applicableByResource.get(key)
    if (applicable) return applicable
    applicable = this.#policies.filter((policy) => policy.resource.selects(resource))
    if (this.#applicableByResource.size < maxRememberedModels) this.#applicableByResource.set(key, applicable)
    if (resource.name !== undefined && this.#warned.size < maxRememberedModels && !this.#warned.has(key))
      this.#warnUnmatched(resource.kind, resource.name, applicable, key)
    return applicable
  }

  /** A tool no policy selects; a model that no per-model policy selects, when some policy has `models`. */
  #warnUnmatched(kind: RequestResource['kind'], name: string, applicable: readonly NormalizedPolicy[], key: string): void {
    if (kind === 'tool' && applicable.length === 0) {
      this.#warned.add(key)
      this.#options.onUnmatchedTool(name)
    } else if (kind === 'model' && this.#hasModelFilters && !applicable.some((policy) => policy.resource.globs !== undefined)) {
      this.#warned.add(key)
      this.#options.onUnmatchedModel(name, applicable.length === 0)
    }
  }

  /**
   * The counters a request touches and what it holds on each. Synchronous unless an `allow`
   * function is asynchronous.
   * @throws TokenQuotaExceededError (`RequestTooLarge`) when a per-request cap refuses
   */
  plan(
    context: QuotaContext,
    resource: RequestResource,
    at: number,
    estimate: EstimateBound,
    provider?: string,
    storedAnchors?: ReadonlyMap<string, number>,
  ): RequestPlan | Promise<RequestPlan> {
    const targets = this.#resolveTargets(context, resource, at, storedAnchors)
    return targets instanceof Promise
      ? targets.then((resolved) => this.#build(context, resource, resolved, at, estimate, provider))
      : this.#build(context, resource, targets, at, estimate, provider)
  }

  /** A plan whose counters never refuse and hold nothing: usage recorded after the fact. */
  static countingOnly(plan: RequestPlan): RequestPlan {
    return { ...plan, counters: plan.counters.map((counter) => ({ ...counter, limit: undefined, amount: 0 })) }
  }

  /** A plan that checks without holding (`quota.check()`). */
  static checkingOnly(plan: RequestPlan): RequestPlan {
    return { ...plan, counters: plan.counters.map((counter) => ({ ...counter, hold: false })) }
  }

  /** Counters whose amount alone is over their limit: no wait makes the request fit (for stores without overrides, checked before the store). */
  tooLarge(counters: readonly CounterPlan[], at: number): TokenQuotaExceededError | undefined {
    let violations: QuotaViolation[] | undefined
    for (const counter of counters) {
      const { limit, amount } = counter
      // In a fill group (an allowance spilling into credits) the next counter takes what this one cannot hold.
      if (limit === undefined || amount <= limit || counter.group !== undefined) continue
      violations ??= []
      violations.push(violationOf(counter, { limit, used: 0, reserved: 0, resetAt: at, retryAfterMs: null }))
    }
    return violations && new TokenQuotaExceededError({ code: 'RequestTooLarge', violations })
  }

  /**
   * The error for a reservation the store refused, the longest wait first, against the limit in
   * force (an operator's override may change the policy's): `RequestTooLarge` when the request
   * alone is over it, as no wait would help.
   */
  refusal(counters: readonly CounterPlan[], result: Extract<ReserveResult, { ok: false }>, at: number): TokenQuotaExceededError {
    // A balance is never too large for a request: a top-up makes room (`CreditsExhausted` below).
    const oversized = result.refusals.filter(
      ({ index, snapshot }) => !isBalance(counters[index]!) && counters[index]!.amount > (snapshot.limit ?? counters[index]!.limit ?? Infinity),
    )
    if (oversized.length > 0) {
      const violations = oversized.map(({ index, snapshot }) => {
        const limit = snapshot.limit ?? counters[index]!.limit!
        return violationOf(counters[index]!, { limit, used: 0, reserved: 0, resetAt: at, retryAfterMs: null })
      })
      return new TokenQuotaExceededError({ code: 'RequestTooLarge', violations })
    }
    const violations = result.refusals.map(({ index, snapshot, retryAt }) =>
      violationOf(counters[index]!, {
        limit: snapshot.limit ?? counters[index]!.limit ?? 0,
        used: snapshot.used,
        reserved: snapshot.reserved,
        resetAt: snapshot.resetAt,
        // A balance does not refill by itself: no wait helps, a top-up does.
        retryAfterMs: isBalance(counters[index]!) ? null : Math.max(0, retryAt - at),
      }),
    )
    // The longest wait first; a wait that never ends (a balance) before any.
    violations.sort((a, b) => (b.retryAfterMs ?? Infinity) - (a.retryAfterMs ?? Infinity))
    const credits = result.refusals.some(({ index }) => isBalance(counters[index]!))
    return new TokenQuotaExceededError({ code: credits ? 'CreditsExhausted' : 'TokenQuotaExceeded', violations })
  }

  /** One decision per policy target of the plan's counters. */
  decisions(counters: readonly CounterPlan[], snapshots: readonly CounterSnapshot[]): PolicyDecision[] {
    return counters.flatMap((counter, index) => counter.targets.map((target) => decisionOf(target, snapshots[index]!)))
  }

  #resolveTargets(
    context: QuotaContext,
    resource: RequestResource,
    at: number,
    storedAnchors?: ReadonlyMap<string, number>,
  ): PolicyTarget[] | Promise<PolicyTarget[]> {
    const applicable = this.#withSpilledInto(this.applicable(resource))
    const pending = new Array<PolicyTarget | Promise<PolicyTarget>>(applicable.length)
    let asynchronous = false
    for (let index = 0; index < applicable.length; index += 1) {
      const policy = applicable[index]!
      const target = resolveTarget(policy, context, at, storedAnchors?.get(policy.name))
      asynchronous ||= target instanceof Promise
      pending[index] = target
    }
    return asynchronous ? Promise.all(pending) : (pending as PolicyTarget[])
  }

  /** The applicable policies, and the balances their allowances spill into (drawn through them even when the balance itself does not select the call). */
  #withSpilledInto(applicable: readonly NormalizedPolicy[]): readonly NormalizedPolicy[] {
    if (this.#spills.size === 0) return applicable
    const missing = new Set<NormalizedPolicy>()
    for (const policy of applicable) {
      const balance = this.#spills.get(policy.name)
      if (balance && !applicable.includes(balance)) missing.add(balance)
    }
    return missing.size === 0 ? applicable : [...applicable, ...missing]
  }

  #build(
    context: QuotaContext,
    resource: RequestResource,
    targets: readonly PolicyTarget[],
    at: number,
    estimate: EstimateBound,
    provider: string | undefined,
  ): RequestPlan {
    if (this.#anchorUnwarned.size > 0) this.#warnMissingAnchors(targets)
    const model = resource.kind === 'model' ? resource.name : undefined
    const pricing = this.#countsMoney ? this.#pricing(model, provider, targets, at) : undefined
    const costPricing = pricing ?? (this.#countsMoney ? targets.find((target) => target.policy.unpriced)?.policy.unpriced : undefined)
    const { bound, maxOutputTokens, requestCap } = this.#hasRequestCaps
      ? applyRequestCaps(targets, context, estimate, at)
      : { bound: estimate, maxOutputTokens: undefined, requestCap: undefined }
    const separate = this.#sharesCounters
      ? mergedCounters(targets, bound, at, pricing)
      : targets.map((target) => counterOf([target], target.limit, target.policy.chargeBound(bound, pricing), target.policy.counts, at))
    const grouped = this.#spills.size === 0 ? separate : withSpillGroups(separate)
    const counters = this.#rollsOver ? [...grouped, ...tallyPlans(grouped, at)] : grouped
    const tool = resource.kind === 'tool' ? resource.name : undefined
    return { context, shard: this.#options.shardOf(context), model, tool, counters, maxOutputTokens, requestCap, pricing, costPricing }
  }

  #warnMissingAnchors(targets: readonly PolicyTarget[]): void {
    for (const { policy, anchorDay } of targets) {
      if (anchorDay !== undefined || !this.#anchorUnwarned.delete(policy.name)) continue
      this.#options.onMissingAnchor?.(policy.name)
    }
  }

  /**
   * The model's price for the money policies among `targets`.
   * @throws UnpricedModelError when one of them has neither a table price nor an `unpriced` rate
   */
  #pricing(model: string | undefined, provider: string | undefined, targets: readonly PolicyTarget[], at: number): ModelPricing | undefined {
    if (!targets.some((target) => target.policy.unit === 'usd')) return undefined
    const pricing = model === undefined ? undefined : this.#options.pricingOf?.(model, at, provider)
    if (pricing) return pricing
    const unpriced = targets.filter((target) => target.policy.unit === 'usd' && target.policy.unpriced === undefined)
    if (unpriced.length > 0) {
      const policies = [...new Set(unpriced.map((target) => target.policy.name))]
      throw new UnpricedModelError({ model, policies, tables: this.#options.priceTables ?? [] })
    }
    return undefined
  }
}

function isBalance(counter: CounterPlan): boolean {
  return counter.window.kind === 'balance'
}

/** A violation of a counter, reported by its enforcing target with the lowest limit, in the policy's unit (dollars, not counter units). */
function violationOf(counter: CounterPlan, state: Pick<QuotaViolation, 'limit' | 'used' | 'reserved' | 'resetAt' | 'retryAfterMs'>): QuotaViolation {
  const reporter = reportingTarget(counter)
  const { unit, scale } = reporter.policy
  const inUnit = (amount: number) => (scale === 1 ? amount : amount / scale)
  return {
    policy: reporter.policy.name,
    identifier: reporter.identifier,
    class: reporter.class,
    ...state,
    limit: inUnit(state.limit),
    used: inUnit(state.used),
    reserved: inUnit(state.reserved),
    requested: inUnit(counter.amount),
    unit,
  }
}

/** Policies with the same `sharedName` (and identifier) are one counter: the lowest limit, the largest amount. */
function mergedCounters(targets: readonly PolicyTarget[], bound: EstimateBound, at: number, pricing: ModelPricing | undefined): CounterPlan[] {
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
    entry.amount = Math.max(entry.amount, target.policy.chargeBound(bound, pricing))
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
    window: targetWindow(first, at),
    limit,
    amount,
    hold: counting,
  }
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
    const ref = { counter: target.counter, identifier: target.identifierKey, window: targetWindow(target, at) }
    const error = new TokenQuotaExceededError({
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
    throw withCapRefusal(error, { ref, requested, limit })
  }
  return { bound, maxOutputTokens, requestCap }
}
