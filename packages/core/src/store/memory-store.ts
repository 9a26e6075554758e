import type {
  Charge,
  ChargeOutcome,
  CounterRead,
  CounterRef,
  CounterRefusal,
  CounterRequest,
  CounterSnapshot,
  ExtendRequest,
  InspectLeaseRequest,
  QuotaStore,
  StoredLease,
  ReadRequest,
  ReserveResult,
  SettleRequest,
  StoreHold,
  StoreReserveRequest,
} from './quota-store.js'
import { fillShares } from './fill-group.js'
import { MemoryAdminBook } from './memory-admin.js'
import { type AdminRead, type StoreAdmin, stepFingerprint } from './store-admin.js'

/** Tokens in one window or rolling bucket. */
interface Slot {
  used: number
  reserved: number
}

/** One fixed window of a counter. A counter's windows form a list, newest first (usually one long). */
interface FixedSlot extends Slot {
  readonly start: number
  readonly end: number
  older: FixedSlot | undefined
}

interface FlexiState extends Slot {
  readonly start: number
  readonly end: number
}

interface RollingState {
  readonly length: number
  readonly bucket: number
  /** Bucket start → tokens. At most `length / bucket + 1` live buckets, plus left ones that still hold. */
  readonly buckets: Map<number, Bucket>
  /** The oldest bucket in the totals: the first in the window as of the last `advance`. */
  counted: number
  /** Totals of the buckets from `counted` on, kept as they change so a reservation need not sum them. */
  used: number
  reserved: number
}

/** A rolling window's bucket: its changes also go to the window's totals while it is counted. */
interface Bucket extends Slot {
  readonly start: number
  readonly state: RollingState
}

/** Counter family → identifier → state: two short lookups instead of one on a long composed key. */
type Counters<State> = Map<string, Map<string, State>>

/** The capacity a reservation holds until it is settled or expires: the `hold` MemoryStore's `reserve` returns. */
interface LeaseHold {
  readonly owner: MemoryStore
  readonly leaseId: string
  readonly shard: string | undefined
  /** Moved by `extend`. */
  expiresAt: number
  /** Per counter of the reservation: the slot holding its amount (`undefined`: nothing held there). */
  readonly slots: ReadonlyArray<Slot | undefined>
  /** Per counter: what it holds (the reservation's `held`). */
  readonly amounts: readonly number[]
  /** The reservation's opaque record, given back at expiry (`ExpiryCharge.record`). */
  readonly record: string | undefined
  /** The reservation's counters and where each was placed (for `onExpiryCharge`). */
  readonly counters: readonly CounterRef[]
  readonly placements: readonly number[]
  readonly chargeOnExpiry: boolean
  returned: boolean
  /** Expired unsettled: its amounts were charged, or returned. */
  expired?: 'charged' | 'released'
  /** Settled after it expired: a retry of that settle charges nothing again. */
  settledLate?: boolean
}

/** A hold that expired and was charged, as told to `MemoryStoreOptions.onExpiryCharge`. */
export interface ExpiryCharge {
  readonly leaseId: string
  /** The reservation's shard. */
  readonly shard: string | undefined
  /** The store's time when it charged (the operation that found the hold expired). */
  readonly now: number
  /** Per counter of the reservation: where it was placed and what was charged (0: nothing held there). */
  readonly charges: ReadonlyArray<CounterRef & { readonly placement: number; readonly amount: number }>
  /** The reservation's record (`StoreReserveRequest.record`), for an entry written with the charge. */
  readonly record: string | undefined
}

/** A counter resolved to its live state for one operation: its snapshot, and where a hold goes. */
interface View extends CounterSnapshot {
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
  /** Called when an expired hold is charged (SyncedStore forwards the charge to its shared store). */
  readonly onExpiryCharge?: (charge: ExpiryCharge) => void
}

/** How long an expired lease is remembered (as the Redis stores do). */
const expiredRetentionMs = 3_600_000

const nothingCharged: ChargeOutcome = Object.freeze({ usedBefore: 0, usedAfter: 0 })

/**
 * Counters in this process's memory: the embedded default. Fast and exact, but each process has
 * its own counters — use `RedisStore` when several processes share a quota.
 *
 * Expired windows, rolling buckets and lease holds are evicted as the clock moves, so memory
 * depends on the number of active identifiers, not on time.
 */
export class MemoryStore implements QuotaStore {
  readonly #fixed: Counters<FixedSlot> = new Map()
  readonly #flexi: Counters<FlexiState> = new Map()
  readonly #rolling: Counters<RollingState> = new Map()
  /** Unreturned holds in expiry order (the engine gives every lease the same TTL); returned ones are skipped. */
  #holds: Array<LeaseHold | undefined> = []
  #holdsHead = 0
  #returnedInQueue = 0
  /** Expiry charges not yet told to `onExpiryCharge` (told once the store is consistent again). */
  #expiryChargesToTell: ExpiryCharge[] = []
  readonly #sweepIntervalMs: number
  readonly #onExpiryCharge: ((charge: ExpiryCharge) => void) | undefined
  #nextSweepAt = -Infinity
  /** Lease id → the answer of its reservation, while it holds (and an hour after it expired): a reservation sent again holds nothing more. */
  readonly #leases = new Map<string, Extract<ReserveResult, { ok: true }>>()
  readonly #book = new MemoryAdminBook()
  /** Overrides, resets, last refusals and audit, in this process's memory. */
  readonly admin: StoreAdmin

  constructor(options: MemoryStoreOptions = {}) {
    this.#sweepIntervalMs = options.sweepIntervalMs ?? 60_000
    this.#onExpiryCharge = options.onExpiryCharge
    const book = this.#book
    this.admin = {
      writeOverride: (request) => book.write(request),
      readAdmin: (request) => {
        this.#maintain(request.now)
        return book.read(request)
      },
      noteRefusals: (note) => book.noteRefusals(note),
      resetUsage: (request) => ({ applied: book.step(request.key, stepFingerprint(request), request.now, request.audit, () => this.#resetUsage(request)) }),
      readAudit: (limit) => book.readAudit(limit),
    }
  }

  /** Number of live slots: fixed and flexi windows plus rolling buckets (for tests and memory benchmarks). */
  get size(): number {
    let size = 0
    for (const family of this.#fixed.values()) {
      for (const newest of family.values()) for (let slot: FixedSlot | undefined = newest; slot; slot = slot.older) size += 1
    }
    for (const family of this.#flexi.values()) size += family.size
    for (const family of this.#rolling.values()) for (const state of family.values()) size += state.buckets.size
    return size
  }

  /** Answers at once. */
  read({ now, counters }: ReadRequest): readonly CounterSnapshot[] {
    this.#maintain(now)
    return counters.map((counter) => this.#withLimit(counter, snapshotOf(this.#view(counter, now)), now))
  }

  /** The snapshot with the limit in force, when an override changes the request's. */
  #withLimit(counter: CounterRead, snapshot: CounterSnapshot, now: number): CounterSnapshot {
    const limit = this.#book.limitOf(counter, counter.limit, now)
    return limit === counter.limit ? snapshot : { ...snapshot, limit }
  }

  /** Answers at once; the result's `hold` is what `settle` takes back (no lookup by lease id). */
  reserve(request: StoreReserveRequest): ReserveResult {
    const { now, counters } = request
    this.#maintain(now)
    const first = this.#leases.get(request.leaseId)
    if (first) return first
    const count = counters.length
    const views = new Array<View>(count)
    const shares = counters.some((counter) => counter.group !== undefined) ? this.#fillShares(counters, now) : undefined
    let refusals: CounterRefusal[] | undefined
    for (let index = 0; index < count; index += 1) {
      const counter = shares ? { ...counters[index]!, amount: shares[index]! } : counters[index]!
      const view = this.#view(counter, now, false)
      views[index] = view
      const limit = this.#book.limitOf(counter, counter.limit, now)
      if (limit === undefined) continue
      if (view.used + view.reserved + counter.amount <= limit) continue
      const snapshot = snapshotOf(this.#exact(counter, view, now))
      this.#book.noteRefusal(counter, snapshot, counter.amount, limit, now)
      refusals ??= []
      refusals.push({ index, snapshot: limit === counter.limit ? snapshot : { ...snapshot, limit }, retryAt: this.#retryAt(counter, view, now, limit) })
    }
    if (refusals) return { ok: false, refusals }
    return this.#hold(request, views, shares)
  }

  /** Per counter, its share of its fill group (see `fillShares`), by the room under its limit in force. */
  #fillShares(counters: readonly CounterRequest[], now: number): number[] {
    return fillShares(counters, (index) => {
      const counter = counters[index]!
      const limit = this.#book.limitOf(counter, counter.limit, now)
      if (limit === undefined) return Number.POSITIVE_INFINITY
      const view = this.#view(counter, now, false)
      return limit - view.used - view.reserved
    })
  }

  /** Holds an admitted reservation's amounts (its `shares` in fill groups) and remembers its answer. */
  #hold(request: StoreReserveRequest, views: readonly View[], shares: readonly number[] | undefined): ReserveResult {
    const { now, counters } = request
    const count = counters.length

    const placements = new Array<number>(count)
    const snapshots = new Array<CounterSnapshot>(count)
    const slots = new Array<Slot | undefined>(count)
    const held = new Array<number>(count)
    let holding = false
    for (let index = 0; index < count; index += 1) {
      const counter = counters[index]!
      const view = views[index]!
      const amount = shares ? shares[index]! : counter.amount
      placements[index] = view.placement
      held[index] = counter.hold ? amount : 0
      if (!counter.hold || amount === 0) {
        snapshots[index] = this.#withLimit(counter, snapshotOf(this.#exact(counter, view, now)), now)
        if (!counter.hold) continue
      }
      const slot = view.slot ?? this.#create(counter, now, view.placement)
      addReserved(slot, amount)
      slots[index] = slot
      holding = true
      if (amount === 0) continue
      // A rolling window's newest tokens are now this bucket's.
      const resetAt = counter.window.kind === 'rolling' ? view.placement + counter.window.bucket + counter.window.length : view.resetAt
      snapshots[index] = this.#withLimit(counter, { used: view.used, reserved: view.reserved + amount, windowStart: view.windowStart, resetAt }, now)
    }
    let hold: LeaseHold | undefined
    if (holding) {
      hold = {
        owner: this,
        leaseId: request.leaseId,
        shard: request.shard,
        expiresAt: request.expiresAt,
        slots,
        amounts: held,
        counters,
        placements,
        chargeOnExpiry: request.onExpiry !== 'release',
        record: request.record,
        returned: false,
      }
      this.#enqueue(hold)
    }
    const result = { ok: true as const, placements, held, snapshots, hold }
    if (hold) this.#leases.set(request.leaseId, result)
    return result
  }

  /** Answers at once. Settles the `hold` given back (expired or not); without one, charges where the windows are now. */
  settle(request: SettleRequest): readonly ChargeOutcome[] {
    const { charges, now } = request
    this.#maintain(now)
    const hold = this.#holdOf(request.hold)
    if (hold?.settledLate) return charges.map(() => nothingCharged) // a retried late settle
    const live = hold !== undefined && !hold.returned
    if (live) {
      this.#return(hold)
      this.#leases.delete(hold.leaseId)
    }
    // Expired and charged: the charge replaces what expiry charged, in the same slots. Expired and
    // returned (or unknown): its slots may be gone, so it is charged where the windows are now.
    const replacing = hold?.expired === 'charged'
    if (hold?.expired !== undefined) hold.settledLate = true
    const outcomes = new Array<ChargeOutcome>(charges.length)
    for (let index = 0; index < charges.length; index += 1) {
      const charge = charges[index]!
      const slot = (live || replacing ? hold.slots[index] : undefined) ?? this.#slotAt(charge, now)
      if (!slot) {
        outcomes[index] = nothingCharged
        continue
      }
      const amount = replacing && hold.slots[index] ? charge.amount - hold.amounts[index]! : charge.amount
      if (charge.reportUsed === false) {
        addUsed(slot, amount)
        outcomes[index] = nothingCharged // nobody reads it
        continue
      }
      // The window's total, not the slot's: a rolling window sums many buckets.
      const usedBefore = charge.window.kind === 'rolling' ? this.#view(charge, now, false).used : slot.used
      addUsed(slot, amount)
      outcomes[index] = { usedBefore, usedAfter: usedBefore + amount }
    }
    return outcomes
  }

  /**
   * Answers at once. Moves an unsettled hold's expiry; `false` when the lease is settled, expired
   * or unknown. The hold queue puts it where its new expiry belongs.
   */
  extend(request: ExtendRequest): boolean {
    this.#maintain(request.now)
    const hold = this.#holdOf(request.hold) ?? this.#holdOf(this.#leases.get(request.leaseId)?.hold)
    if (!hold || hold.returned) return false
    hold.expiresAt = request.expiresAt
    this.#reschedule(hold)
    return true
  }

  /** Answers at once: what this store keeps of a lease, until it is settled or forgotten. */
  inspectLease(request: InspectLeaseRequest): StoredLease | undefined {
    this.#maintain(request.now)
    const hold = this.#holdOf(this.#leases.get(request.leaseId)?.hold)
    if (!hold || hold.settledLate || (hold.returned && hold.expired === undefined)) return undefined
    const state = hold.expired ?? 'holding'
    return { state, expiresAt: hold.expiresAt, record: hold.record, held: hold.amounts }
  }

  /** Ends a hold that outlived its lease: charged where it was held (or returned), and kept a while for a late settle. */
  /** A hold this store made; anything else a careless caller passes (another store's hold) counts as none. */
  #holdOf(hold: StoreHold | undefined): LeaseHold | undefined {
    return (hold as LeaseHold | undefined)?.owner === this ? (hold as LeaseHold) : undefined
  }

  #expire(hold: LeaseHold, now: number): void {
    this.#return(hold)
    hold.expired = hold.chargeOnExpiry ? 'charged' : 'released'
    if (!hold.chargeOnExpiry) return
    for (let index = 0; index < hold.slots.length; index += 1) {
      const slot = hold.slots[index]
      if (slot) addUsed(slot, hold.amounts[index]!)
    }
    if (this.#onExpiryCharge) {
      this.#expiryChargesToTell.push({
        leaseId: hold.leaseId,
        shard: hold.shard,
        now,
        record: hold.record,
        charges: hold.counters.map((counter, index) => ({
          ...counter,
          placement: hold.placements[index]!,
          amount: hold.slots[index] ? hold.amounts[index]! : 0,
        })),
      })
    }
  }

  /** Queues a hold in expiry order: behind the last one unless it expires sooner (an own lifetime). */
  #enqueue(hold: LeaseHold): void {
    const holds = this.#holds
    let index = holds.length
    while (index > this.#holdsHead && (holds[index - 1]?.expiresAt ?? Number.NEGATIVE_INFINITY) > hold.expiresAt) index -= 1
    if (index === holds.length) holds.push(hold)
    else holds.splice(index, 0, hold)
  }

  /** Moves an extended hold to its new place in the queue. */
  #reschedule(hold: LeaseHold): void {
    const index = this.#holds.indexOf(hold, this.#holdsHead)
    if (index >= 0) this.#holds.splice(index, 1)
    this.#enqueue(hold)
  }

  #return(hold: LeaseHold): void {
    hold.returned = true
    this.#returnedInQueue += 1
    for (let index = 0; index < hold.slots.length; index += 1) {
      const slot = hold.slots[index]
      if (slot) addReserved(slot, -hold.amounts[index]!)
    }
  }

  #maintain(now: number): void {
    const holds = this.#holds
    while (this.#holdsHead < holds.length) {
      const hold = holds[this.#holdsHead]!
      if (!hold.returned) {
        if (hold.expiresAt > now) break
        this.#expire(hold, now)
      }
      this.#returnedInQueue -= 1
      holds[this.#holdsHead] = undefined
      this.#holdsHead += 1
    }
    // Settled holds wait in the queue until they reach its head: compact when they, or the slots
    // already passed, are most of it.
    const passed = this.#holdsHead
    if ((passed > 1024 && passed * 2 > holds.length) || (this.#returnedInQueue > 1024 && this.#returnedInQueue * 2 > holds.length - passed)) {
      this.#holds = holds.filter((hold) => hold !== undefined && !hold.returned)
      this.#holdsHead = 0
      this.#returnedInQueue = 0
    }
    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + this.#sweepIntervalMs
      this.#evictExpired(now)
      this.#forgetLeases(now)
      this.#book.sweep(now)
    }
    if (this.#expiryChargesToTell.length > 0) {
      const told = this.#expiryChargesToTell
      this.#expiryChargesToTell = []
      for (const charge of told) this.#onExpiryCharge!(charge)
    }
  }

  /** Forgets the answers of leases that no longer hold: settled, or expired an hour ago (a late copy of their reservation then holds again). */
  #forgetLeases(now: number): void {
    for (const [leaseId, { hold }] of this.#leases) {
      const { returned, expired, expiresAt } = hold as LeaseHold
      if (returned && (expired === undefined || expiresAt + expiredRetentionMs <= now)) this.#leases.delete(leaseId)
    }
  }

  #evictExpired(now: number): void {
    for (const [name, family] of this.#fixed) {
      for (const [identifier, newest] of family) {
        let kept: FixedSlot | undefined
        let last: FixedSlot | undefined
        for (let slot: FixedSlot | undefined = newest; slot; slot = slot.older) {
          if (slot.end <= now && slot.reserved === 0) continue
          if (last) last.older = slot
          else kept = slot
          last = slot
        }
        if (last) last.older = undefined
        if (kept) family.set(identifier, kept)
        else family.delete(identifier)
      }
      if (family.size === 0) this.#fixed.delete(name)
    }
    for (const [name, family] of this.#flexi) {
      for (const [identifier, state] of family) if (state.end <= now && state.reserved === 0) family.delete(identifier)
      if (family.size === 0) this.#flexi.delete(name)
    }
    for (const [name, family] of this.#rolling) {
      for (const [identifier, state] of family) {
        advance(state, now)
        for (const [start, slot] of state.buckets) if (start < state.counted && slot.reserved === 0) state.buckets.delete(start)
        if (state.buckets.size === 0) family.delete(identifier)
      }
      if (family.size === 0) this.#rolling.delete(name)
    }
  }

  #view(counter: CounterRef, now: number, exactReset = true): View {
    const { window } = counter
    switch (window.kind) {
      case 'fixed': {
        const slot = this.#fixedSlot(counter, window.start)
        return { used: slot?.used ?? 0, reserved: slot?.reserved ?? 0, windowStart: window.start, resetAt: window.end, slot, placement: window.start }
      }
      case 'flexi': {
        const state = this.#flexi.get(counter.counter)?.get(counter.identifier)
        if (state && state.end > now) {
          return { used: state.used, reserved: state.reserved, windowStart: state.start, resetAt: state.end, slot: state, placement: state.start }
        }
        return { used: 0, reserved: 0, windowStart: now, resetAt: window.endIfStartedNow, slot: undefined, placement: now }
      }
      case 'rolling': {
        const state = this.#rolling.get(counter.counter)?.get(counter.identifier)
        const placement = Math.floor(now / window.bucket) * window.bucket
        if (!state) return { used: 0, reserved: 0, windowStart: now - window.length, resetAt: now, slot: undefined, placement }
        advance(state, now)
        // The reset time needs every bucket: left to the caller when it knows it otherwise.
        const resetAt = exactReset ? rollingResetAt(state, now) : NaN
        // A clock behind the one that moved the window holds in its oldest counted bucket, so the hold is in the totals.
        const counted = Math.max(placement, state.counted)
        return { used: state.used, reserved: state.reserved, windowStart: now - window.length, resetAt, slot: state.buckets.get(counted), placement: counted }
      }
    }
  }

  /** The view with its exact reset time (a rolling window's needs its buckets). */
  #exact(counter: CounterRef, view: View, now: number): View {
    if (counter.window.kind !== 'rolling' || !Number.isNaN(view.resetAt)) return view
    const state = this.#rolling.get(counter.counter)?.get(counter.identifier)
    return { ...view, resetAt: state ? rollingResetAt(state, now) : now }
  }

  #fixedSlot(counter: CounterRef, start: number): FixedSlot | undefined {
    let slot = this.#fixed.get(counter.counter)?.get(counter.identifier)
    while (slot && slot.start !== start) slot = slot.older
    return slot
  }

  #create(counter: CounterRef, now: number, placement: number): Slot {
    const { window } = counter
    switch (window.kind) {
      case 'fixed': {
        const family = familyOf(this.#fixed, counter.counter)
        const state: FixedSlot = { start: window.start, end: window.end, used: 0, reserved: 0, older: family.get(counter.identifier) }
        family.set(counter.identifier, state)
        return state
      }
      case 'flexi': {
        const state: FlexiState = { start: now, end: window.endIfStartedNow, used: 0, reserved: 0 }
        familyOf(this.#flexi, counter.counter).set(counter.identifier, state)
        return state
      }
      case 'rolling': {
        const family = familyOf(this.#rolling, counter.counter)
        let state = family.get(counter.identifier)
        if (!state) {
          state = {
            length: window.length,
            bucket: window.bucket,
            buckets: new Map(),
            counted: firstBucket(window.length, window.bucket, now),
            used: 0,
            reserved: 0,
          }
          family.set(counter.identifier, state)
        }
        const slot: Bucket = { used: 0, reserved: 0, start: placement, state }
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
        return this.#fixedSlot(charge, window.start) ?? this.#create(charge, now, window.start)
      case 'flexi': {
        // A flexi window that has been replaced is over: its late charge cannot affect any limit.
        const state = this.#flexi.get(charge.counter)?.get(charge.identifier)
        return state?.start === charge.placement ? state : undefined
      }
      case 'rolling': {
        if (charge.placement + window.bucket <= now - window.length) return undefined
        return this.#rolling.get(charge.counter)?.get(charge.identifier)?.buckets.get(charge.placement) ?? this.#create(charge, now, charge.placement)
      }
    }
  }

  /** Zero usage in each counter's current window; holds stay. */
  #resetUsage({ now, counters }: AdminRead): void {
    this.#maintain(now)
    for (const counter of counters) {
      if (counter.window.kind === 'rolling') {
        const state = this.#rolling.get(counter.counter)?.get(counter.identifier)
        if (!state) continue
        for (const bucket of state.buckets.values()) bucket.used = 0
        state.used = 0
        continue
      }
      const slot = this.#view(counter, now).slot
      if (slot) slot.used = 0
    }
  }

  #retryAt(counter: CounterRequest, view: View, now: number, limit: number): number {
    const { window } = counter
    if (window.kind !== 'rolling') return view.resetAt
    const state = this.#rolling.get(counter.counter)?.get(counter.identifier)
    if (!state) return now
    let remaining = view.used + view.reserved
    const horizon = now - window.length
    const starts = [...state.buckets.keys()].filter((start) => start + window.bucket > horizon).sort((a, b) => a - b)
    for (const start of starts) {
      const slot = state.buckets.get(start)!
      remaining -= slot.used + slot.reserved
      if (remaining + counter.amount <= limit) return start + window.bucket + window.length
    }
    return view.resetAt
  }
}

function snapshotOf(view: View): CounterSnapshot {
  return { used: view.used, reserved: view.reserved, windowStart: view.windowStart, resetAt: view.resetAt }
}

function familyOf<State>(counters: Counters<State>, name: string): Map<string, State> {
  let family = counters.get(name)
  if (!family) {
    family = new Map()
    counters.set(name, family)
  }
  return family
}

/** The first bucket start in a rolling window at `now`: buckets before it have left. */
function firstBucket(length: number, bucket: number, now: number): number {
  return Math.floor((now - length) / bucket) * bucket
}

/** Moves a rolling window's totals to `now`: buckets that left it leave them, and go unless they still hold. */
function advance(state: RollingState, now: number): void {
  const first = firstBucket(state.length, state.bucket, now)
  if (first <= state.counted) return
  for (const [start, slot] of state.buckets) {
    if (start >= first) continue
    if (start >= state.counted) {
      state.used -= slot.used
      state.reserved -= slot.reserved
    }
    if (slot.reserved === 0) state.buckets.delete(start)
  }
  state.counted = first
}

/** When a rolling window is back to zero: when its newest tokens leave it. Walks the buckets. */
function rollingResetAt(state: RollingState, now: number): number {
  let newest = -Infinity
  for (const [start, slot] of state.buckets) if (start >= state.counted && slot.used + slot.reserved > 0 && start > newest) newest = start
  return newest === -Infinity ? now : newest + state.bucket + state.length
}

function addReserved(slot: Slot, amount: number): void {
  slot.reserved += amount
  const { state, start } = slot as Partial<Bucket>
  if (state !== undefined && start! >= state.counted) state.reserved += amount
}

function addUsed(slot: Slot, amount: number): void {
  slot.used += amount
  const { state, start } = slot as Partial<Bucket>
  if (state !== undefined && start! >= state.counted) state.used += amount
}
