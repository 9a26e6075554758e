import type { PolicyTarget } from '../policy/identifier.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import type { LedgerEntry } from '../store/credit-protocol.js'
import type { ChargeOutcome, CounterRequest, CounterSnapshot } from '../store/quota-store.js'
import type { QuotaEvents } from './events.js'

/** A counter as the watch sees it: its window, and the policy targets on it. */
type WatchedCounter = Pick<CounterRequest, 'window'> & { readonly targets: readonly PolicyTarget[] }

/** An amount in counter units, in its policy's unit (dollars for a money balance). */
function inUnit(policy: NormalizedPolicy, amount: number): number {
  return policy.scale === 1 ? amount : amount / policy.scale
}

/**
 * Turns what stores say about balances into events: grant expiries they recorded
 * (`creditsExpired`), charges the grants could not pay (`creditsUnpaid`) and charges that took a
 * balance to its `lowAt` (`creditsLow`). Each store call tells an expiry once, to the call that
 * recorded it, so each event fires once.
 */
export class CreditWatch {
  readonly #events: QuotaEvents

  constructor(events: QuotaEvents) {
    this.#events = events
  }

  /** The expiries in snapshots of a reservation, a refusal or a read. */
  noticeSnapshots(counters: readonly WatchedCounter[], snapshots: readonly CounterSnapshot[], indexOf?: (position: number) => number): void {
    snapshots.forEach((snapshot, position) => {
      if (snapshot.expired === undefined) return
      const target = counters[indexOf ? indexOf(position) : position]?.targets[0]
      if (target) this.noticeExpired(target.policy, target.identifier, snapshot.expired)
    })
  }

  /** After a settle: per balance charged, its expiries, what went unpaid and whether it is now low. */
  noticeCharges(counters: readonly WatchedCounter[], outcomes: readonly ChargeOutcome[], leaseId: string): void {
    outcomes.forEach((outcome, index) => {
      const counter = counters[index]
      if (counter?.window.kind !== 'balance') return
      const { policy, identifier } = counter.targets[0]!
      if (outcome.expired) this.noticeExpired(policy, identifier, outcome.expired)
      if (outcome.unpaid) this.#events.emit('creditsUnpaid', { policy: policy.name, identifier, leaseId, amount: inUnit(policy, outcome.unpaid) })
      const { lowAt } = policy
      const { balanceBefore, balanceAfter } = outcome
      if (lowAt === undefined || balanceBefore === undefined || balanceAfter === undefined) return
      if (balanceBefore > lowAt && balanceAfter <= lowAt)
        this.#events.emit('creditsLow', { policy: policy.name, identifier, balance: inUnit(policy, balanceAfter), level: inUnit(policy, lowAt) })
    })
  }

  /** One `creditsExpired` per expiry row. */
  noticeExpired(policy: NormalizedPolicy, identifier: string | null, rows: readonly LedgerEntry[]): void {
    for (const row of rows) {
      if (row.kind !== 'expiry') continue
      this.#events.emit('creditsExpired', { policy: policy.name, identifier, grant: row.grant ?? '', amount: inUnit(policy, -row.amount), at: row.at })
    }
  }
}
