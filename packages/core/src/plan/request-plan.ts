import type { PolicyDecision } from './decision.js'
import type { PolicyTarget } from '../policy/identifier.js'
import type { Charge, CounterRequest, CounterSnapshot } from '../store/quota-store.js'
import type { NormalizedUsage, QuotaContext } from '../shared/types.js'
import type { ModelPricing } from '../price/price-table.js'

// A request as the engine plans it: the counters it touches, and what to report about them.

/** A counter touched by a request (as the store sees it), with the policies that share it, merged. */
export interface CounterPlan extends CounterRequest {
  /** Every policy target on this counter; the first enforcing one with the lowest limit reports refusals. */
  readonly targets: readonly PolicyTarget[]
  readonly counting: boolean
  /** Some policy on it has thresholds: settling must report used-before/after. */
  readonly reportUsed: boolean
  /** A cycle tally (`plan/cycle-tally.ts`) has no targets to report: it counts this one's charge. */
  readonly tallyOf?: PolicyTarget
}

export interface RequestPlan {
  readonly context: QuotaContext
  readonly shard: string | undefined
  readonly model: string | undefined
  /** The tool, for a tool call (`model` is then `undefined`). */
  readonly tool?: string | undefined
  readonly counters: readonly CounterPlan[]
  readonly maxOutputTokens: number | undefined
  /** The smallest `maxTokensPerRequest` in force, with its policy: a charge above it is worth a warning. */
  readonly requestCap: { readonly policy: string; readonly limit: number } | undefined
  /** The model's price, when a money policy applies (absent: those policies' `unpriced` rates). */
  readonly pricing?: ModelPricing | undefined
  /** What the call's cost is reported at: the model's price, or a money policy's `unpriced` rate. */
  readonly costPricing?: ModelPricing | undefined
}

/**
 * What settling a lease sends to the store: each counter's `held` amount (what the store said it
 * held) back, and the real charge. A counter on its own is charged `amountOf(counter)`; the
 * counters of a fill group share their first counter's charge in the order the store filled
 * them, each up to what it held, and what exceeds the whole hold goes to the last (see `spread`).
 */
export function chargesFor(
  requestPlan: RequestPlan,
  placements: readonly number[],
  held: readonly number[],
  amountOf: (counter: CounterPlan) => number,
): Charge[] {
  const { counters } = requestPlan
  const charges = new Array<Charge>(counters.length)
  const amounts = counters.some((counter) => counter.group !== undefined) ? spread(counters, held, amountOf) : undefined
  for (let index = 0; index < counters.length; index += 1) {
    const counter = counters[index]!
    charges[index] = {
      counter: counter.counter,
      identifier: counter.identifier,
      window: counter.window,
      placement: placements[index]!,
      held: held[index]!,
      amount: amounts ? amounts[index]! : amountOf(counter),
      reportUsed: counter.reportUsed,
    }
  }
  return charges
}

/**
 * Per counter, its charge when some counters form fill groups: a group's charge (its first
 * counter's) fills its counters in order up to what each held; the excess over the whole hold
 * (usage beyond the estimate) goes to the group's last counter, the balance a plan spills into.
 *
 * Never to the allowance beyond its hold, even when it had room: the room a reservation left may
 * be held or spent meanwhile by another call, in any process, and no store tells at settle what is
 * left without a race. An allowance charged past its limit would be reset by its window unpaid;
 * the balance draws what its grants hold and records the rest unpaid (`creditsUnpaid`): never
 * silently free, at worst credits drawn while the plan had room — erring toward the quota.
 */
export function spread(counters: readonly CounterRequest[], held: readonly number[], amountOf: (counter: CounterPlan) => number): number[] {
  const amounts = new Array<number>(counters.length)
  const left = new Map<string, { last: number; amount: number }>()
  counters.forEach((counter, index) => {
    const { group } = counter
    if (group === undefined) {
      amounts[index] = amountOf(counter as CounterPlan)
      return
    }
    let state = left.get(group)
    if (!state) {
      state = { last: index, amount: amountOf(counter as CounterPlan) }
      left.set(group, state)
    }
    const take = Math.min(state.amount, held[index]!)
    amounts[index] = take
    state.amount -= take
    state.last = index
  })
  for (const { last, amount } of left.values()) amounts[last] = amounts[last]! + amount
  return amounts
}

export function reportingTarget(counter: CounterPlan): PolicyTarget {
  const enforcing = counter.targets.filter((target) => target.limit !== undefined)
  return enforcing.reduce((lowest, target) => (target.limit! < lowest.limit! ? target : lowest), enforcing[0] ?? counter.targets[0]!)
}

export function chargeOf(counter: CounterPlan, usage: NormalizedUsage, pricing: ModelPricing | undefined): number {
  const counting = counter.targets.find((target) => target.policy.counts) ?? counter.targets[0] ?? counter.tallyOf!
  return counting.policy.charge(usage, pricing)
}

export function allowedOf(target: PolicyTarget): number {
  const { allow } = target.policy
  if (target.limit !== undefined) return target.limit
  if (typeof allow === 'number') return allow
  if (typeof allow === 'object') return target.class === undefined ? 0 : (allow.counts.get(target.class) ?? 0)
  return 0
}

export function thresholdUntil(counter: CounterPlan, resetAt: number, at: number): number {
  const { window } = counter
  return window.kind === 'rolling' ? at + window.length : resetAt
}

/** What a policy reports, in its unit: dollars for a money policy (its counters hold units of 1e-8 dollar). */
export function decisionOf(target: PolicyTarget, snapshot: CounterSnapshot): PolicyDecision {
  const { scale } = target.policy
  return scale === 1 ? counterDecisionOf(target, snapshot) : inDollars(counterDecisionOf(target, snapshot), scale)
}

function inDollars(decision: PolicyDecision, scale: number): PolicyDecision {
  const dollars = (amount: number) => Math.round(amount) / scale
  return {
    ...decision,
    allowed: dollars(decision.allowed),
    used: dollars(decision.used),
    reserved: dollars(decision.reserved),
    available: dollars(decision.available),
  }
}

function counterDecisionOf(target: PolicyTarget, snapshot: CounterSnapshot): PolicyDecision {
  // A balance's capacity is its grants: the store's snapshot always says it.
  const allowed = (target.limit === undefined && target.policy.type !== 'balance' ? undefined : snapshot.limit) ?? target.limit ?? allowedOf(target)
  return {
    name: target.policy.name,
    policy: target.policy.name,
    type: target.policy.type,
    mode: target.policy.mode,
    identifier: target.identifier,
    class: target.class,
    unit: target.policy.unit,
    allowed,
    used: snapshot.used,
    reserved: snapshot.reserved,
    available: Math.max(0, allowed - snapshot.used - snapshot.reserved),
    windowStart: snapshot.windowStart,
    resetAt: snapshot.resetAt,
  }
}

/**
 * The store record of a reservation (`StoreReserveRequest.record`): who, on which policies, for
 * which model, at which price — what an outbox or ledger entry written beside an expiry or a settle
 * needs. One line of JSON: `{"p":[[policy, identifier key], …],"m":model,"s":price source}`.
 */
export function recordOf(plan: RequestPlan): string {
  const policies: Array<[string, string]> = []
  for (const counter of plan.counters) for (const target of counter.targets) policies.push([target.policy.name, target.identifierKey])
  const source = plan.costPricing?.source
  return JSON.stringify({ p: policies, m: plan.model, s: source && `${source.table}:${source.model}` })
}
