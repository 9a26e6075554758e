import type { PolicyTarget } from '../policy/identifier.js'
import { inPolicyUnit, type NormalizedPolicy } from '../policy/normalized-policy.js'
import type { BalanceRef, LedgerEntry, StoreCredits } from '../store/credit-protocol.js'
import type { ChargeOutcome, CounterRequest, CounterSnapshot, ReadRequest } from '../store/quota-store.js'
import type { QuotaEvents } from './events.js'

/** A counter as the watch sees it: its window, and the policy targets on it. */
type WatchedCounter = Pick<CounterRequest, 'window'> & { readonly targets: readonly PolicyTarget[] }

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
      if (outcome.unpaid) this.#events.emit('creditsUnpaid', { policy: policy.name, identifier, leaseId, amount: inPolicyUnit(policy, outcome.unpaid) })
      const { lowAt } = policy
      const { balanceBefore, balanceAfter } = outcome
      if (lowAt === undefined || balanceBefore === undefined || balanceAfter === undefined) return
      if (balanceBefore > lowAt && balanceAfter <= lowAt)
        this.#events.emit('creditsLow', { policy: policy.name, identifier, balance: inPolicyUnit(policy, balanceAfter), level: inPolicyUnit(policy, lowAt) })
    })
  }

  /**
   * After a lease of this process expired unsettled and was charged: `creditsUnpaid` for what
   * its expiry charge on each balance left unpaid (the `charge` row's `unpaid`). A store charges
   * an expired hold when it next runs, so the balances are read first (noticing the grant
   * expiries that read records); then the lease's row is found near the ledger's end.
   */
  async noticeExpiryCharge(
    store: { read(request: ReadRequest): PromiseLike<readonly CounterSnapshot[]>; readonly credits: StoreCredits },
    request: ReadRequest & { readonly counters: readonly WatchedCounter[] },
    leaseId: string,
  ): Promise<void> {
    const { counters, shard } = request
    this.noticeSnapshots(counters, await store.read(request))
    for (const { counter, identifier, targets } of counters as ReadonlyArray<WatchedCounter & BalanceRef>) {
      const tail = await ledgerTail(store.credits, { counter, identifier, ...(shard === undefined ? {} : { shard }) })
      const row = tail.findLast((entry) => entry.kind === 'charge' && entry.leaseId === leaseId)
      const { policy, identifier: who } = targets[0]!
      if (row?.unpaid) this.#events.emit('creditsUnpaid', { policy: policy.name, identifier: who, leaseId, amount: inPolicyUnit(policy, row.unpaid) })
    }
  }

  /** One `creditsExpired` per expiry row. */
  noticeExpired(policy: NormalizedPolicy, identifier: string | null, rows: readonly LedgerEntry[]): void {
    for (const row of rows) {
      if (row.kind !== 'expiry') continue
      this.#events.emit('creditsExpired', { policy: policy.name, identifier, grant: row.grant ?? '', amount: inPolicyUnit(policy, -row.amount), at: row.at })
    }
  }
}

/** Rows of a ledger read at once when looking for a lease's recent row. */
const tailRows = 64

/** The last rows of a balance's ledger: its length found in O(log n) one-row reads (rows are numbered from 1, without gaps). */
async function ledgerTail(credits: StoreCredits, ref: BalanceRef): Promise<readonly LedgerEntry[]> {
  const hasRowAfter = async (after: number) => (await credits.readLedger({ ...ref, after, limit: 1 })).length > 0
  let known = 0
  let beyond = 1
  while (await hasRowAfter(beyond - 1)) {
    known = beyond
    beyond *= 2
  }
  while (beyond - known > 1) {
    const middle = Math.floor((known + beyond) / 2)
    if (await hasRowAfter(middle - 1)) known = middle
    else beyond = middle
  }
  return credits.readLedger({ ...ref, after: Math.max(0, known - tailRows), limit: tailRows })
}
