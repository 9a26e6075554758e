import type {
  Charge,
  ChargeOutcome,
  CounterRef,
  CounterRefusal,
  CounterRequest,
  CounterSnapshot,
  QuotaStore,
  ReadRequest,
  ReserveRequest,
  ReserveResult,
  SettleRequest,
} from './quota-store.js'

/** Tokens in one window or rolling bucket. */
interface Slot {
  used: number
  reserved: number
}

interface FixedState extends Slot {
  readonly end: number
}

interface FlexiState extends Slot {
  readonly start: number
  readonly end: number
}

interface RollingState {
  readonly length: number
  readonly bucket: number
  /** Bucket start → tokens. At most `length / bucket + 1` live buckets. */
  readonly buckets: Map<number, Slot>
}

interface HeldLease {
  readonly expiresAt: number
  readonly holds: ReadonlyArray<{ readonly slot: Slot; readonly amount: number }>
  /** Per counter of the reservation: the slot its amount was placed in (for settling without lookups). */
  readonly slots: ReadonlyArray<Slot | undefined>
}

/** A counter resolved to its live state for one operation. */
interface View {
  readonly snapshot: CounterSnapshot
  /** Where a hold goes: `undefined` when the window does not exist yet and must be created. */
  readonly slot: Slot | undefined
  readonly placement: number
}

export interface MemoryStoreOptions {
  /**
   * How often (in clock time) expired windows are evicted. Eviction walks every counter once.
   * @default 60_000
   */
  readonly sweepIntervalMs?: number
}

/**
 * Counters in this process's memory: the embedded default. Fast and exact, but each process has
 * its own counters — use `RedisStore` when several processes share a quota.
 *
 * Expired windows, rolling buckets and lease holds are evicted as the clock moves, so memory
 * depends on the number of active identifiers, not on time.
 */
export class MemoryStore implements QuotaStore {
  readonly #fixed = new Map<string, FixedState>()
  readonly #flexi = new Map<string, FlexiState>()
  readonly #rolling = new Map<string, RollingState>()
  /** Insertion order is expiry order, because the engine gives every lease the same TTL. */
  readonly #leases = new Map<string, HeldLease>()
  readonly #sweepIntervalMs: number
  #nextSweepAt = -Infinity

  constructor(options: MemoryStoreOptions = {}) {
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000
  }

  /** Number of live slots: fixed and flexi windows plus rolling buckets (for tests and memory benchmarks). */
  get size(): number {
    let buckets = 0
    for (const state of this.#rolling.values()) buckets += state.buckets.size
    return this.#fixed.size + this.#flexi.size + buckets
  }

  async reserve(request: ReserveRequest): Promise<ReserveResult> {
    return this.reserveSync(request)
  }

  async settle(request: SettleRequest): Promise<readonly ChargeOutcome[]> {
    return this.settleSync(request)
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    return this.readSync(request)
  }

  /** Synchronous `read`. */
  readSync({ now, counters }: ReadRequest): readonly CounterSnapshot[] {
    this.#maintain(now)
    return counters.map((counter) => this.#view(counter, now).snapshot)
  }

  /** Synchronous `reserve`, for callers that can skip a promise (the engine's fast path). */
  reserveSync(request: ReserveRequest): ReserveResult {
    const { now } = request
    this.#maintain(now)
    const views = request.counters.map((counter) => this.#view(counter, now))
    const refusals: CounterRefusal[] = []
    request.counters.forEach((counter, index) => {
      const view = views[index]!
      if (counter.limit === undefined) return
      const { used, reserved } = view.snapshot
      if (used + reserved + counter.amount > counter.limit) {
        refusals.push({ index, snapshot: view.snapshot, retryAt: this.#retryAt(counter, view, now) })
      }
    })
    if (refusals.length > 0) return { ok: false, refusals }

    const holds: Array<{ slot: Slot; amount: number }> = []
    const slots: Array<Slot | undefined> = []
    const snapshots = request.counters.map((counter, index) => {
      const view = views[index]!
      if (!counter.hold) {
        slots.push(undefined)
        return view.snapshot
      }
      const slot = view.slot ?? this.#create(counter, now, view.placement)
      slot.reserved += counter.amount
      holds.push({ slot, amount: counter.amount })
      slots.push(slot)
      return { ...view.snapshot, reserved: view.snapshot.reserved + counter.amount }
    })
    if (holds.length > 0) this.#leases.set(request.leaseId, { expiresAt: request.expiresAt, holds, slots })
    return { ok: true, placements: views.map((view) => view.placement), snapshots }
  }

  /** Synchronous `settle`. */
  settleSync(request: SettleRequest): readonly ChargeOutcome[] {
    this.#maintain(request.now)
    const lease = this.#leases.get(request.leaseId)
    if (lease) {
      this.#leases.delete(request.leaseId)
      for (const hold of lease.holds) hold.slot.reserved -= hold.amount
    }
    return request.charges.map((charge, index) => {
      const slot = lease?.slots[index] ?? this.#slotAt(charge, request.now)
      if (!slot) return { usedBefore: 0, usedAfter: 0 }
      // The window's total, not the slot's: a rolling window sums many buckets.
      const usedBefore = charge.window.kind === 'rolling' ? this.#view(charge, request.now).snapshot.used : slot.used
      slot.used += charge.amount
      return { usedBefore, usedAfter: usedBefore + charge.amount }
    })
  }

  #maintain(now: number): void {
    for (const [leaseId, lease] of this.#leases) {
      if (lease.expiresAt > now) break
      this.#leases.delete(leaseId)
      for (const hold of lease.holds) hold.slot.reserved -= hold.amount
    }
    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + this.#sweepIntervalMs
      this.#evictExpired(now)
    }
  }

  #evictExpired(now: number): void {
    for (const [key, state] of this.#fixed) if (state.end <= now && state.reserved === 0) this.#fixed.delete(key)
    for (const [key, state] of this.#flexi) if (state.end <= now && state.reserved === 0) this.#flexi.delete(key)
    for (const [key, state] of this.#rolling) {
      pruneBuckets(state, now)
      if (state.buckets.size === 0) this.#rolling.delete(key)
    }
  }

  #view(counter: CounterRef, now: number): View {
    const { window } = counter
    switch (window.kind) {
      case 'fixed': {
        const slot = this.#fixed.get(fixedKey(counter, window.start))
        return {
          snapshot: { used: slot?.used ?? 0, reserved: slot?.reserved ?? 0, windowStart: window.start, resetAt: window.end },
          slot,
          placement: window.start,
        }
      }
      case 'flexi': {
        const state = this.#flexi.get(counterKey(counter))
        if (state && state.end > now) {
          return { snapshot: { used: state.used, reserved: state.reserved, windowStart: state.start, resetAt: state.end }, slot: state, placement: state.start }
        }
        return { snapshot: { used: 0, reserved: 0, windowStart: now, resetAt: window.endIfStartedNow }, slot: undefined, placement: now }
      }
      case 'rolling': {
        const state = this.#rolling.get(counterKey(counter))
        const placement = Math.floor(now / window.bucket) * window.bucket
        let used = 0
        let reserved = 0
        let newest = -Infinity
        if (state) {
          pruneBuckets(state, now)
          for (const [start, slot] of state.buckets) {
            if (start + window.bucket <= now - window.length) continue // expired, kept only for its hold
            used += slot.used
            reserved += slot.reserved
            if (slot.used + slot.reserved > 0) newest = Math.max(newest, start)
          }
        }
        const resetAt = newest === -Infinity ? now : newest + window.bucket + window.length
        return {
          snapshot: { used, reserved, windowStart: now - window.length, resetAt },
          slot: state?.buckets.get(placement),
          placement,
        }
      }
    }
  }

  #create(counter: CounterRef, now: number, placement: number): Slot {
    const { window } = counter
    switch (window.kind) {
      case 'fixed': {
        const state: FixedState = { end: window.end, used: 0, reserved: 0 }
        this.#fixed.set(fixedKey(counter, window.start), state)
        return state
      }
      case 'flexi': {
        const state: FlexiState = { start: now, end: window.endIfStartedNow, used: 0, reserved: 0 }
        this.#flexi.set(counterKey(counter), state)
        return state
      }
      case 'rolling': {
        const key = counterKey(counter)
        let state = this.#rolling.get(key)
        if (!state) {
          state = { length: window.length, bucket: window.bucket, buckets: new Map() }
          this.#rolling.set(key, state)
        }
        const slot: Slot = { used: 0, reserved: 0 }
        state.buckets.set(placement, slot)
        return slot
      }
    }
  }

  /** The slot a charge lands in, created if its window was evicted but is still live. */
  #slotAt(charge: Charge, now: number): Slot | undefined {
    const { window } = charge
    switch (window.kind) {
      case 'fixed':
        return this.#fixed.get(fixedKey(charge, window.start)) ?? this.#create(charge, now, window.start)
      case 'flexi': {
        // A flexi window that has been replaced is over: its late charge cannot affect any limit.
        const state = this.#flexi.get(counterKey(charge))
        return state?.start === charge.placement ? state : undefined
      }
      case 'rolling': {
        if (charge.placement + window.bucket <= now - window.length) return undefined
        return this.#rolling.get(counterKey(charge))?.buckets.get(charge.placement) ?? this.#create(charge, now, charge.placement)
      }
    }
  }

  #retryAt(counter: CounterRequest, view: View, now: number): number {
    const { window } = counter
    if (window.kind !== 'rolling') return view.snapshot.resetAt
    const state = this.#rolling.get(counterKey(counter))
    if (!state) return now
    const limit = counter.limit ?? Infinity
    let remaining = view.snapshot.used + view.snapshot.reserved
    const horizon = now - window.length
    const starts = [...state.buckets.keys()].filter((start) => start + window.bucket > horizon).sort((a, b) => a - b)
    for (const start of starts) {
      const slot = state.buckets.get(start)!
      remaining -= slot.used + slot.reserved
      if (remaining + counter.amount <= limit) return start + window.bucket + window.length
    }
    return view.snapshot.resetAt
  }
}

/** Drops buckets that no longer overlap `(now - length, now]` and hold no reservation. */
function pruneBuckets(state: RollingState, now: number): void {
  const horizon = now - state.length
  for (const [start, slot] of state.buckets) {
    if (start + state.bucket <= horizon && slot.reserved === 0) state.buckets.delete(start)
  }
}

function counterKey(counter: CounterRef): string {
  return `${counter.counter}\u0000${counter.identifier}`
}

function fixedKey(counter: CounterRef, start: number): string {
  return `${counter.counter}\u0000${start}\u0000${counter.identifier}`
}
