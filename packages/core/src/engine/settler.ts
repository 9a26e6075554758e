import type { BackgroundWrites } from './background-writes.js'
import type { CreditWatch } from './credit-watch.js'
import type { QuotaEvents } from './events.js'
import type { CallCost, CommitResult, LeaseSettlement } from './lease.js'
import { type CounterPlan, chargeOf, chargesFor } from '../plan/request-plan.js'
import type { Planner } from '../plan/planner.js'
import type { Charge, ChargeOutcome, MaybePromise, SettleRequest } from '../store/quota-store.js'
import type { NormalizedUsage, Usage } from '../shared/types.js'
import { normalizeUsage } from '../shared/usage.js'
import type { Reservation } from './reservation.js'
import type { StoreAccess } from './store-access.js'
import type { ThresholdWatch } from './threshold-watch.js'

export interface SettlerOptions {
  readonly access: StoreAccess
  readonly planner: Planner
  readonly events: QuotaEvents
  readonly thresholds: ThresholdWatch
  /** Present when some policy is a credit balance: its charges may go unpaid, bring it low, meet expiries. */
  readonly credits: CreditWatch | undefined
  readonly backgroundWrites: BackgroundWrites
  readonly commitMode: 'background' | 'await'
  readonly now: () => number
  /** Told before each settle goes out: the lease no longer needs its expiry watched. */
  readonly settling: (reservation: Reservation) => void
  /** Told when the store moved a lease's expiry: the lease's expiry watch moves with it. */
  readonly extended: (reservation: Reservation, expiresAt: number) => void
}

/**
 * Commits and releases leases: the charges per counter, the store write (synchronous on a store
 * that answers at once, else awaited or sent in the background), threshold crossings and the
 * `usage` event. One object serves every lease of an engine.
 */
export class Settler implements LeaseSettlement<Reservation> {
  readonly #options: SettlerOptions

  constructor(options: SettlerOptions) {
    this.#options = options
  }

  commit(reservation: Reservation, usage: Usage | undefined, options: { readonly estimated?: boolean } | undefined): MaybePromise<CommitResult> {
    const { requestPlan, bound } = reservation
    const normalized = usage === undefined ? usageOfBound(bound) : normalizeUsage(usage)
    const at = this.#options.now()
    const { pricing } = requestPlan
    const amountOf = (counter: CounterPlan) => (!counter.counting ? 0 : usage === undefined ? counter.amount : chargeOf(counter, normalized, pricing))
    const charges = chargesFor(requestPlan, reservation.placements, reservation.held, amountOf)
    const estimated = usage === undefined || options?.estimated === true
    if (usage !== undefined) this.#checkRequestCap(reservation, normalized)
    const priced = requestPlan.costPricing
    const cost = priced && { usd: usage === undefined ? priced.costBound(bound) : priced.cost(normalized), price: priced.source }
    const result = () => this.#committed(reservation, charges, normalized, estimated, cost)
    return this.#write(
      reservation,
      charges,
      at,
      (outcomes) => {
        this.#options.thresholds.noticeCrossings(requestPlan, outcomes, at, reservation.snapshots)
        this.#options.credits?.noticeCharges(requestPlan.counters, outcomes, reservation.leaseId)
      },
      result,
    )
  }

  release(reservation: Reservation): MaybePromise<void> {
    const charges = chargesFor(reservation.requestPlan, reservation.placements, reservation.held, () => 0)
    return this.#write(
      reservation,
      charges,
      this.#options.now(),
      () => undefined,
      () => undefined,
    )
  }

  /**
   * Moves the lease's expiry to `ms` from now, in the store that holds it. `false` when the store
   * no longer holds it (expired, or settled meanwhile): the lease keeps its old expiry. A lease
   * with no counter (no policy applies) is in no store: its expiry moves here alone.
   */
  async extend(reservation: Reservation, ms: number): Promise<boolean> {
    const at = this.#options.now()
    const expiresAt = at + ms
    if (reservation.requestPlan.counters.length === 0) {
      this.#options.extended(reservation, expiresAt)
      return true
    }
    const request = { leaseId: reservation.leaseId, hold: reservation.hold, now: at, expiresAt, shard: reservation.requestPlan.shard }
    const extended = await this.#options.access.extend(request, reservation.local)
    if (extended) this.#options.extended(reservation, expiresAt)
    return extended
  }

  decisions(reservation: Reservation) {
    return this.#options.planner.decisions(reservation.requestPlan.counters, reservation.snapshots)
  }

  /**
   * Sends a settlement and returns `result()`: at once when the store answered at once or the write
   * goes in the background (retried with the same lease id, so never charged twice), else once the
   * store has recorded it.
   */
  #write<T>(
    reservation: Reservation,
    charges: readonly Charge[],
    at: number,
    landed: (outcomes: readonly ChargeOutcome[]) => void,
    result: () => T,
  ): MaybePromise<T> {
    const { access, backgroundWrites, commitMode, settling } = this.#options
    const request: SettleRequest = {
      leaseId: reservation.leaseId,
      hold: reservation.hold,
      now: at,
      expiresAt: reservation.expiresAt,
      charges,
      shard: reservation.requestPlan.shard,
    }
    settling(reservation)
    const sent = access.settle(request, reservation.local)
    if (!(sent instanceof Promise)) {
      landed(sent)
      return result()
    }
    if (commitMode === 'await') {
      return sent.then((outcomes) => {
        landed(outcomes)
        return result()
      })
    }
    backgroundWrites.run(sent, async () => access.settle(request, reservation.local), landed)
    return result()
  }

  #checkRequestCap(reservation: Reservation, usage: NormalizedUsage): void {
    const { requestCap } = reservation.requestPlan
    if (requestCap === undefined || usage.total <= requestCap.limit) return
    this.#options.events.emit('warning', {
      code: 'OverRequestCap',
      message: `The provider reported ${usage.total} tokens for a call capped at ${requestCap.limit} by "${requestCap.policy}": the prompt estimate fell short of the provider's count`,
    })
  }

  /** What a settlement charged, per counting policy; emits the `usage` event. */
  #committed(reservation: Reservation, charges: readonly Charge[], usage: NormalizedUsage, estimated: boolean, cost: CallCost | undefined): CommitResult {
    const { requestPlan } = reservation
    const reported: Array<CommitResult['charges'][number]> = []
    for (let index = 0; index < requestPlan.counters.length; index += 1) {
      for (const target of requestPlan.counters[index]!.targets) {
        const { policy } = target
        if (!policy.counts) continue
        const amount = charges[index]!.amount
        reported.push({ policy: policy.name, identifier: target.identifier, amount: policy.scale === 1 ? amount : amount / policy.scale, unit: policy.unit })
      }
    }
    const { events } = this.#options
    if (events.has('usage')) {
      const { tool } = requestPlan
      const event = {
        leaseId: reservation.leaseId,
        context: requestPlan.context,
        model: requestPlan.model,
        ...(tool !== undefined && { tool }),
        usage,
        estimated,
        charges: reported,
      }
      events.emit('usage', cost ? { ...event, cost } : event)
    }
    return cost ? { charges: reported, estimated, cost } : { charges: reported, estimated }
  }
}

/** The usage a commit without usage charges: the reservation's bound. */
function usageOfBound(bound: Reservation['bound']): NormalizedUsage {
  return {
    input: bound.input,
    output: Math.max(0, bound.total - bound.input),
    total: bound.total,
    cachedInput: 0,
    cacheWrite: 0,
    cacheWrite1h: 0,
    reasoning: 0,
    webSearches: 0,
  }
}
