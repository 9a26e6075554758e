import { type PolicyTarget, resolveIdentifier, targetWindow } from '../policy/identifier.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import { instantOfWallClock } from '../policy/time-zone.js'
import { tallyCounter, tallyWindow } from '../plan/cycle-tally.js'
import type { RequestPlan } from '../plan/request-plan.js'
import type { StoreCredits } from '../store/credit-protocol.js'
import type { WindowSpec } from '../store/counter-ref.js'
import type { QuotaEvents } from './events.js'
import type { StoreAccess } from './store-access.js'

type FixedSpec = Extract<WindowSpec, { kind: 'fixed' }>

/** Keys this process has settled (granted, or found nothing to grant): bounded, emptied when full. */
const maxRememberedKeys = 10_000

/**
 * Rollover, lazily and once: at a caller's first request in a new cycle, up to `share` of what the
 * previous cycle left unused (read from its cycle tally) becomes a credit grant keyed by the cycle,
 * so every process that tries writes it once. A failure is a warning and is tried again on the
 * next request: the request itself goes on (without the credits, erring toward the quota).
 */
export class Rollover {
  readonly #policies: readonly NormalizedPolicy[]
  readonly #access: StoreAccess
  readonly #credits: StoreCredits | undefined
  readonly #events: QuotaEvents
  readonly #settled = new Set<string>()

  constructor(options: { policies: readonly NormalizedPolicy[]; access: StoreAccess; credits: StoreCredits | undefined; events: QuotaEvents }) {
    this.#policies = options.policies
    this.#access = options.access
    this.#credits = options.credits
    this.#events = options.events
  }

  /** Grants the rollovers a plan's callers are due; `undefined` when none is (the fast path). */
  due(plan: RequestPlan, at: number): Promise<void> | undefined {
    let pending: Promise<void>[] | undefined
    for (const counter of plan.counters) {
      const target = counter.tallyOf
      if (target === undefined) continue
      const previous = this.#previousCycle(target, at)
      if (previous === undefined) continue
      const key = `rollover:${target.policy.name}:${target.identifierKey}:${previous.start}`
      if (this.#settled.has(key)) continue
      pending ??= []
      pending.push(this.#grant(plan, target, previous, key, at))
    }
    return pending && Promise.all(pending).then(() => undefined)
  }

  /** The cycle before the current one, if the caller was subscribed for all of it (it starts on or after the anchor). */
  #previousCycle(target: PolicyTarget, at: number): FixedSpec | undefined {
    const { policy, anchorDay } = target
    const current = targetWindow(target, at) as FixedSpec
    const previous = policy.window(current.start - 1, anchorDay) as FixedSpec
    const { timeZone } = policy
    const subscribed = timeZone === undefined || timeZone === 'UTC' ? anchorDay! : instantOfWallClock(anchorDay!, timeZone)
    return previous.start >= subscribed ? previous : undefined
  }

  async #grant(plan: RequestPlan, target: PolicyTarget, previous: FixedSpec, key: string, at: number): Promise<void> {
    const { policy } = target
    const rollover = policy.rollover!
    try {
      const [tally] = await this.#access.read({
        now: at,
        shard: plan.shard,
        counters: [{ counter: tallyCounter(target.counter), identifier: target.identifierKey, window: tallyWindow(target, previous), limit: target.limit }],
      })
      const limit = tally!.limit ?? target.limit ?? 0
      // Holds still open on the last cycle count as used: a late commit must not have rolled over too.
      const unused = Math.max(0, limit - tally!.used - tally!.reserved)
      const amount = Math.floor(unused * rollover.share)
      if (amount > 0) await this.#write(plan, target, previous, key, unused, amount, at)
      this.#remember(key)
    } catch (error) {
      this.#events.emit('warning', {
        code: 'RolloverFailed',
        message: `Policy "${policy.name}": the rollover of the cycle from ${new Date(previous.start).toISOString()} into "${rollover.into}" failed; it is tried again on the caller's next request: ${String(error)}`,
      })
    }
  }

  async #write(plan: RequestPlan, target: PolicyTarget, previous: FixedSpec, key: string, unused: number, amount: number, at: number): Promise<void> {
    const { policy } = target
    const rollover = policy.rollover!
    const into = this.#policies.find((candidate) => candidate.name === rollover.into)!
    if (this.#credits === undefined) throw new Error('the store keeps no credits')
    let expiresAt = previous.end
    for (let cycle = 0; cycle < rollover.expiresAfterCycles; cycle += 1) expiresAt = (policy.window(expiresAt, target.anchorDay) as FixedSpec).end
    const outcome = await this.#credits.writeCredits({
      counter: into.counterName,
      identifier: resolveIdentifier(into, plan.context).key,
      shard: plan.shard,
      now: at,
      key,
      change: { kind: 'topup', amount, expiresAt },
      by: 'rollover',
      reason: `${rollover.share} of the ${unused / policy.scale} left unused of "${policy.name}" in the cycle from ${new Date(previous.start).toISOString()}`,
    })
    this.#events.emit('rollover', {
      policy: policy.name,
      identifier: target.identifier,
      into: into.name,
      key,
      cycleStart: previous.start,
      cycleEnd: previous.end,
      unused: unused / policy.scale,
      amount: amount / policy.scale,
      expiresAt,
      applied: outcome.applied,
    })
  }

  #remember(key: string): void {
    if (this.#settled.size >= maxRememberedKeys) this.#settled.clear()
    this.#settled.add(key)
  }
}
