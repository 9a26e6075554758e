import type { QuotaEvents } from './events.js'
import type { PolicyTarget } from '../policy/identifier.js'
import { allowedOf, type CounterPlan, type RequestPlan, thresholdUntil } from '../plan/request-plan.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import type { ChargeOutcome, CounterSnapshot } from '../store/quota-store.js'
import { Throttle } from './throttle.js'
import type { QuotaContext } from '../shared/types.js'

/** A throttle's interval when its policy sets none. */
const defaultPacingMs = 1000

type Threshold = NormalizedPolicy['thresholds'][number]

/**
 * Soft thresholds: `threshold` events when a charge crosses a level (once, from the store's
 * used-before/after), and the pacing of identifiers past a `throttle` level.
 */
export class ThresholdWatch {
  readonly #events: QuotaEvents
  readonly #throttle = new Throttle()

  constructor(events: QuotaEvents) {
    this.#events = events
  }

  /** Some identifier is being paced: reservations must wait their turn. */
  get pacing(): boolean {
    return this.#throttle.active > 0
  }

  /** Waits out the pacing of the plan's throttled counters (at once for the others). */
  wait(counters: readonly CounterPlan[], at: number): Promise<void> {
    return this.#throttle.wait(
      counters.map((counter) => keyOf(counter)),
      at,
    )
  }

  /** Throttle thresholds already passed (possibly by another process): pace from now on. */
  noticeThrottles(counters: readonly CounterPlan[], snapshots: readonly CounterSnapshot[], context: QuotaContext, at: number): void {
    for (let index = 0; index < counters.length; index += 1) {
      const counter = counters[index]!
      const snapshot = snapshots[index]!
      for (const target of counter.targets) {
        const allowed = allowedInForce(target, snapshot)
        for (const threshold of target.policy.thresholds) {
          if (threshold.action !== 'throttle' || snapshot.used < threshold.at * allowed) continue
          this.#startThrottle(counter, target, threshold, snapshot.resetAt, context, at)
        }
      }
    }
  }

  /** Emits the `threshold` events of a settlement's crossings, once the store has answered; `snapshots` are the reservation's (their limit in force). */
  noticeCrossings(plan: RequestPlan, outcomes: readonly ChargeOutcome[], at: number, snapshots: readonly CounterSnapshot[]): void {
    const { counters, context } = plan
    for (let index = 0; index < counters.length; index += 1) {
      const counter = counters[index]!
      if (!counter.reportUsed) continue
      for (const target of counter.targets) this.#emitCrossed(counter, target, outcomes[index]!, context, at, allowedInForce(target, snapshots[index]))
    }
  }

  #emitCrossed(counter: CounterPlan, target: PolicyTarget, outcome: ChargeOutcome, context: QuotaContext, at: number, allowed: number): void {
    for (const threshold of target.policy.thresholds) {
      const level = threshold.at * allowed
      if (!(outcome.usedBefore < level && outcome.usedAfter >= level)) continue
      const resetAt = counter.window.kind === 'fixed' ? counter.window.end : at
      this.#events.emit('threshold', {
        policy: target.policy.name,
        identifier: target.identifier,
        class: target.class,
        threshold,
        used: outcome.usedAfter / target.policy.scale,
        allowed: allowed / target.policy.scale,
        unit: target.policy.unit,
        resetAt,
        context,
      })
      if (threshold.action === 'throttle') this.#startThrottle(counter, target, threshold, thresholdUntil(counter, resetAt, at), context, at)
    }
  }

  #startThrottle(counter: CounterPlan, target: PolicyTarget, threshold: Threshold, until: number, context: QuotaContext, at: number): void {
    const minIntervalMs = this.#pacingInterval(target.policy, threshold.minIntervalMs, context)
    if (this.#throttle.activate(keyOf(counter), until, minIntervalMs, at)) {
      this.#events.emit('throttle', { policy: target.policy.name, identifier: target.identifier, until, minIntervalMs })
    }
  }

  /**
   * A throttle's interval. A pacing function that throws or returns nonsense must not fail the
   * reservation or commit that crossed the threshold (both are already in the store): it is
   * reported, and the default interval is used.
   */
  #pacingInterval(policy: NormalizedPolicy, option: Threshold['minIntervalMs'], context: QuotaContext): number {
    if (typeof option !== 'function') return option ?? defaultPacingMs
    let value: unknown
    try {
      value = option(context)
    } catch (error) {
      value = error
    }
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value
    this.#events.emit('warning', {
      code: 'PolicyFunctionFailed',
      message: `The minIntervalMs function of policy "${policy.name}" failed (${String(value)}); pacing at ${defaultPacingMs} ms`,
    })
    return defaultPacingMs
  }
}

/** Thresholds are shares of the limit in force: an operator's override (in the snapshot) moves them too. */
function allowedInForce(target: PolicyTarget, snapshot: CounterSnapshot | undefined): number {
  return (target.limit === undefined ? undefined : snapshot?.limit) ?? allowedOf(target)
}

function keyOf(counter: CounterPlan): string {
  return `${counter.counter}\u0000${counter.identifier}`
}
