import { MemoryStore } from './memory-store.js'
import type {
  ChargeOutcome,
  CounterRef,
  CounterSnapshot,
  QuotaStore,
  ReadRequest,
  ReserveRequest,
  ReserveResult,
  SettleRequest,
} from './quota-store.js'

export interface SyncedStoreOptions {
  /**
   * Flush local charges and refresh the others' usage this often (Apigee's `SyncIntervalInSeconds`).
   * @default 10_000
   */
  readonly syncIntervalMs?: number
  /** Also flush after this many settled calls (Apigee's `SyncMessageCount`). */
  readonly syncMessageCount?: number
  /** Called when a sync fails; the charges stay pending and go with the next sync. */
  readonly onSyncError?: (error: unknown) => void
  /** The clock for syncs (use the quota's). @default Date.now */
  readonly now?: () => number
}

interface Pending {
  readonly ref: CounterRef
  readonly placement: number
  amount: number
}

function keyOf(ref: CounterRef, placement: number): string {
  return `${ref.counter}\u0000${placement}\u0000${ref.identifier}`
}

function windowKeyOf(ref: CounterRef): string {
  return `${ref.counter}\u0000${ref.identifier}`
}

/**
 * Asynchronous counting (Apigee `Synchronous=false`): decisions are made locally, against this
 * process's own usage plus the other processes' usage as of the last sync; local charges are sent
 * to the shared store in batches. Calls never wait for the shared store.
 *
 * Overshoot bound: between two syncs, each process can admit up to the capacity it saw at the
 * last sync, so with N processes a window can exceed `allow` by at most what the other N − 1
 * admitted since their last sync — at most (N − 1) × `allow` in the worst case, and in practice
 * about (N − 1) × (tokens one process admits per sync interval). Use it where latency matters more
 * than exactness; use the store directly (synchronous) where the limit must hold.
 */
export class SyncedStore implements QuotaStore {
  readonly #remote: QuotaStore
  readonly #local = new MemoryStore()
  readonly #options: SyncedStoreOptions
  /** Per counter: the others' usage in a window, as of the last sync. */
  readonly #others = new Map<string, { readonly windowStart: number; readonly used: number }>()
  /** Per counter and window: charges not yet sent. */
  #pending = new Map<string, Pending>()
  /** Counters seen, to refresh at each sync. */
  readonly #known = new Map<string, CounterRef>()
  readonly #timer: NodeJS.Timeout
  #settledSinceSync = 0
  #syncing: Promise<void> | undefined

  constructor(remote: QuotaStore, options: SyncedStoreOptions = {}) {
    this.#remote = remote
    this.#options = options
    this.#timer = setInterval(() => void this.sync(), options.syncIntervalMs ?? 10_000)
    this.#timer.unref()
  }

  /** Fixed windows match by start; rolling and flexi windows move, so the last sync's figure holds until the next. */
  #othersUsed(ref: CounterRef, windowStart: number): number {
    const others = this.#others.get(windowKeyOf(ref))
    if (!others || (ref.window.kind === 'fixed' && others.windowStart !== windowStart)) return 0
    return others.used
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    for (const counter of request.counters) this.#known.set(windowKeyOf(counter), counter)
    // Read the local windows first: the others' usage lowers each limit for the window in force.
    const views = this.#local.readSync({ now: request.now, counters: request.counters })
    const counters = request.counters.map((counter, index) =>
      counter.limit === undefined ? counter : { ...counter, limit: Math.max(0, counter.limit - this.#othersUsed(counter, views[index]!.windowStart)) },
    )
    const result = this.#local.reserveSync({ ...request, counters })
    if (result.ok) return { ...result, snapshots: result.snapshots.map((snapshot, index) => this.#withOthers(request.counters[index]!, snapshot)) }
    return {
      ok: false,
      refusals: result.refusals.map((refusal) => ({ ...refusal, snapshot: this.#withOthers(request.counters[refusal.index]!, refusal.snapshot) })),
    }
  }

  async settle(request: SettleRequest): Promise<readonly ChargeOutcome[]> {
    const outcomes = this.#local.settleSync(request)
    for (const charge of request.charges) {
      if (charge.amount === 0) continue
      const key = keyOf(charge, charge.placement)
      const pending = this.#pending.get(key)
      if (pending) pending.amount += charge.amount
      else this.#pending.set(key, { ref: charge, placement: charge.placement, amount: charge.amount })
    }
    this.#settledSinceSync += 1
    const { syncMessageCount } = this.#options
    if (syncMessageCount !== undefined && this.#settledSinceSync >= syncMessageCount) void this.sync()
    return outcomes
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    for (const counter of request.counters) this.#known.set(windowKeyOf(counter), counter)
    return this.#local.readSync(request).map((snapshot, index) => this.#withOthers(request.counters[index]!, snapshot))
  }

  #withOthers(ref: CounterRef, snapshot: CounterSnapshot): CounterSnapshot {
    return { ...snapshot, used: snapshot.used + this.#othersUsed(ref, snapshot.windowStart) }
  }

  /** Sends pending charges and refreshes the others' usage. Concurrent calls share one sync. */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined
    })
    return this.#syncing
  }

  async #sync(): Promise<void> {
    const now = (this.#options.now ?? Date.now)()
    const batch = this.#pending
    this.#pending = new Map()
    this.#settledSinceSync = 0
    try {
      if (batch.size > 0) {
        const entries = [...batch.values()]
        const leaseId = `sync-${now}-${Math.random().toString(36).slice(2)}`
        const counters = entries.map(({ ref }) => ({ ...ref, limit: undefined, amount: 0, hold: true }))
        await this.#remote.reserve({ leaseId, now, expiresAt: now + 60_000, counters })
        await this.#remote.settle({ leaseId, now, expiresAt: now + 60_000, charges: entries.map(({ ref, placement, amount }) => ({ ...ref, placement, held: 0, amount })) })
      }
      const refs = [...this.#known.values()]
      if (refs.length === 0) return
      const [remote, local] = [await this.#remote.read({ now, counters: refs }), this.#local.readSync({ now, counters: refs })]
      refs.forEach((ref, index) => {
        const windowStart = remote[index]!.windowStart
        this.#others.set(windowKeyOf(ref), { windowStart, used: Math.max(0, remote[index]!.used - local[index]!.used) })
      })
    } catch (error) {
      // Nothing is lost: the batch goes back in front of what was charged meanwhile.
      for (const [key, entry] of batch) {
        const later = this.#pending.get(key)
        if (later) entry.amount += later.amount
        this.#pending.set(key, entry)
      }
      this.#options.onSyncError?.(error)
    }
  }

  /** Stops the sync timer after a last sync. */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.sync()
  }
}
