import { expiredForgotten } from './algebra/index.js'
import type { CounterRef, ExtendRequest, InspectLeaseRequest, QuotaStore, ReserveResult, SettleRequest, StoreReserveRequest } from './quota-store.js'

/** Whether a counter is a credit balance (`{ kind: 'balance' }`). */
export function isBalance(ref: CounterRef): boolean {
  return ref.window.kind === 'balance'
}

/**
 * SyncedStore's way for credit balances: never counted locally. A reservation that touches a
 * balance counter goes to the shared store at once, whole (its other counters too, so a fill group
 * spills exactly), and the lease stays there: its settle, extend and inspection go there too. Paid
 * credits then hold exactly across processes; only windows are counted locally between syncs.
 */
export class BalancePassThrough {
  readonly #remote: QuotaStore
  /** Leases held on the shared store: id → expiry, until settled or forgotten there. */
  readonly #leases = new Map<string, number>()

  constructor(remote: QuotaStore) {
    this.#remote = remote
  }

  /** Whether a reservation goes through: it touches a balance. */
  takes(request: StoreReserveRequest): boolean {
    return request.counters.some(isBalance)
  }

  /** Whether a lease is held on the shared store (or a settle charges a balance). */
  holds(leaseId: string, charges: readonly CounterRef[] = []): boolean {
    return this.#leases.has(leaseId) || charges.some(isBalance)
  }

  async reserve(request: StoreReserveRequest): Promise<ReserveResult> {
    const result = await this.#remote.reserve(request)
    if (result.ok) this.#leases.set(request.leaseId, request.expiresAt)
    return result
  }

  settle(request: SettleRequest): ReturnType<QuotaStore['settle']> {
    this.#leases.delete(request.leaseId)
    return this.#remote.settle(request)
  }

  async extend(request: ExtendRequest): Promise<boolean> {
    const extended = await this.#remote.extend(request)
    if (extended) this.#leases.set(request.leaseId, request.expiresAt)
    return extended
  }

  inspectLease(request: InspectLeaseRequest): ReturnType<NonNullable<QuotaStore['inspectLease']>> {
    return this.#remote.inspectLease?.(request)
  }

  /** Forgets leases the shared store has forgotten (an hour after they expired). */
  forget(now: number): void {
    for (const [leaseId, expiresAt] of this.#leases) if (expiredForgotten(expiresAt, now)) this.#leases.delete(leaseId)
  }
}
