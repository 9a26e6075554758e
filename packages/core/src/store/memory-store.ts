import { expiredForgotten, expiryChange, fillShares, fits, type HoldFate, resetAfterHold, settleChange, settlesInPlace } from './algebra/index.js'
import type { StoreCredits } from './credit-protocol.js'
import { MemoryAdminBook } from './memory-admin.js'
import { BalanceSlots } from './memory/balances.js'
import { CounterSlots } from './memory/counter-slots.js'
import { HoldQueue } from './memory/hold-queue.js'
import { addTo, type Slot, snapshotOf, type View } from './memory/slot.js'
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
import { type AdminRead, type StoreAdmin, stepFingerprint } from './store-admin.js'

/** The capacity a reservation holds until it is settled or expires: the `hold` MemoryStore's `reserve` returns. */
interface LeaseHold {
  readonly owner: MemoryStore
  readonly leaseId: string
  readonly shard: string | undefined
  /** Moved by `extend` (the hold queue moves the hold with it). */
  expiresAt: number
  /** Per counter of the reservation: the slot holding its amount (`undefined`: nothing held there). */
  readonly slots: ReadonlyArray<Slot | undefined>
  /** Per counter: what it holds (the reservation's `held`). */
  readonly amounts: readonly number[]
  /** The reservation's opaque record, given back at expiry (`ExpiryCharge.record`) and by `inspectLease`. */
  readonly record: string | undefined
  /** The reservation's counters and where each was placed (for `onExpiryCharge`). */
  readonly counters: readonly CounterRef[]
  readonly placements: readonly number[]
  readonly chargeOnExpiry: boolean
  /** No longer held: settled, or expired. */
  returned: boolean
  /** Holding until returned; then, if it expired unsettled, whether its amounts were charged or returned. */
  fate: HoldFate
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

export interface MemoryStoreOptions {
  /**
   * How often (in clock time) expired windows are evicted. Eviction walks every counter once.
   * @default 60_000
   */
  readonly sweepIntervalMs?: number
  /** Called when an expired hold is charged (SyncedStore forwards the charge to its shared store). */
  readonly onExpiryCharge?: (charge: ExpiryCharge) => void
}

const nothingCharged: ChargeOutcome = Object.freeze({ usedBefore: 0, usedAfter: 0 })

/**
 * Counters in this process's memory: the embedded default. Fast and exact, but each process has
 * its own counters — use `RedisStore` when several processes share a quota.
 *
 * Expired windows, rolling buckets and lease holds are evicted as the clock moves, so memory
 * depends on the number of active identifiers, not on time. The rules are the counter algebra's
 * (`store/algebra`); this class keeps only where the counters and holds live.
 */
export class MemoryStore implements QuotaStore {
  readonly #slots = new CounterSlots()
  readonly #holds = new HoldQueue<LeaseHold>()
  /** Expiry charges not yet told to `onExpiryCharge` (told once the store is consistent again). */
  #expiryChargesToTell: ExpiryCharge[] = []
  readonly #sweepIntervalMs: number
  readonly #onExpiryCharge: ((charge: ExpiryCharge) => void) | undefined
  #nextSweepAt = -Infinity
  /** Lease id → the answer of its reservation, while it holds (and an hour after it expired): a reservation sent again holds nothing more. */
  readonly #leases = new Map<string, Extract<ReserveResult, { ok: true }>>()
  readonly #book = new MemoryAdminBook()
  readonly #balances = new BalanceSlots()
  /** Overrides, resets, last refusals and audit, in this process's memory. */
  readonly admin: StoreAdmin
  /** Credit grants and ledgers of balance counters, in this process's memory (kept for good: never evicted). */
  readonly credits: StoreCredits

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
    const balances = this.#balances
    this.credits = {
      writeCredits: (request) => {
        this.#maintain(request.now)
        return balances.write(request)
      },
      readBalances: (request) => {
        this.#maintain(request.now)
        return balances.read(request)
      },
      readLedger: (request) => balances.ledger(request),
    }
  }

  /** Number of live slots: fixed and flexi windows plus rolling buckets (for tests and memory benchmarks). */
  get size(): number {
    return this.#slots.size
  }

  /** Answers at once. Lua twin: the `read` script (redis/lua/read.ts). */
  read({ now, counters }: ReadRequest): readonly CounterSnapshot[] {
    this.#maintain(now)
    return counters.map((counter) => this.#snapshot(counter, this.#view(counter, now, true), now))
  }

  /** A counter at `now`: a window's slot, or a balance. */
  #view(counter: CounterRef, now: number, exactReset: boolean): View {
    return counter.window.kind === 'balance' ? this.#balances.view(counter, now) : this.#slots.view(counter, now, exactReset)
  }

  /** The limit a counter meets: a balance's balance, else the request's with the overrides in force. */
  #limitOf(counter: CounterRead, view: View, now: number): number | undefined {
    return counter.window.kind === 'balance' ? view.limit : this.#book.limitOf(counter, counter.limit, now)
  }

  /**
   * The snapshot with the limit in force when an override changes the request's; a balance's always
   * with its balance, and with the grant expiries not yet given back.
   */
  #snapshot(counter: CounterRead, view: View, now: number): CounterSnapshot {
    const snapshot = snapshotOf(view)
    if (counter.window.kind === 'balance') {
      const expired = this.#balances.takeExpired(counter)
      return { ...snapshot, limit: view.limit, ...(expired ? { expired } : {}) }
    }
    const limit = this.#book.limitOf(counter, counter.limit, now)
    return limit === counter.limit ? snapshot : { ...snapshot, limit }
  }

  /** Answers at once; the result's `hold` is what `settle` takes back (no lookup by lease id). Lua twin: `reserve_one` (redis/lua/reserve.ts). */
  reserve(request: StoreReserveRequest): ReserveResult {
    const { now, counters } = request
    this.#maintain(now)
    const first = this.#leases.get(request.leaseId)
    if (first) return first
    const views = counters.map((counter) => this.#view(counter, now, false))
    const amounts = this.#amounts(counters, views, now)
    const refusals = this.#refusals(request, views, amounts)
    return refusals ? { ok: false, refusals } : this.#hold(request, views, amounts)
  }

  /**
   * Per counter, what the reservation holds (or checks) there: its amount, or in a fill group its
   * share by the room under each limit in force (`fillShares`). Lua twin: `wanted` (redis/lua/reserve.ts).
   */
  #amounts(counters: readonly CounterRequest[], views: readonly View[], now: number): readonly number[] {
    if (!counters.some((counter) => counter.group !== undefined)) return counters.map((counter) => counter.amount)
    return fillShares(counters, (index) => {
      const limit = this.#limitOf(counters[index]!, views[index]!, now)
      return limit === undefined ? Number.POSITIVE_INFINITY : limit - views[index]!.used - views[index]!.reserved
    })
  }

  /** The counters the request does not fit on, noted as refused; `undefined` when it fits on all. */
  #refusals({ now, counters }: StoreReserveRequest, views: readonly View[], amounts: readonly number[]): CounterRefusal[] | undefined {
    let refusals: CounterRefusal[] | undefined
    for (let index = 0; index < counters.length; index += 1) {
      const counter = amounts[index] === counters[index]!.amount ? counters[index]! : { ...counters[index]!, amount: amounts[index]! }
      const view = views[index]!
      const limit = this.#limitOf(counter, view, now)
      if (limit === undefined || fits(view.used, view.reserved, counter.amount, limit)) continue
      const exact = this.#slots.exact(counter, view, now)
      const snapshot = this.#snapshot(counter, exact, now)
      this.#book.noteRefusal(counter, snapshot, counter.amount, limit, now)
      refusals ??= []
      const retryAt = this.#slots.retryAt(counter, { amount: counter.amount, limit }, exact, now)
      refusals.push({ index, snapshot, retryAt })
    }
    return refusals
  }

  /** Holds every counter's amount (the request fits on all), and queues the hold for its expiry. */
  #hold(request: StoreReserveRequest, views: readonly View[], amounts: readonly number[]): Extract<ReserveResult, { ok: true }> {
    const { now, counters } = request
    const count = counters.length
    const placements = views.map((view) => view.placement)
    const snapshots = new Array<CounterSnapshot>(count)
    const slots = new Array<Slot | undefined>(count)
    const held = new Array<number>(count)
    let holding = false
    for (let index = 0; index < count; index += 1) {
      const counter = counters[index]!
      const view = views[index]!
      const amount = amounts[index]!
      held[index] = counter.hold ? amount : 0
      if (!counter.hold || amount === 0) {
        snapshots[index] = this.#snapshot(counter, this.#slots.exact(counter, view, now), now)
        if (!counter.hold) continue
      }
      const slot = counter.window.kind === 'balance' ? this.#balances.slotFor(counter) : this.#slots.slotFor(counter, view, now)
      addTo(slot, { used: 0, reserved: amount })
      slots[index] = slot
      holding = true
      if (amount === 0) continue
      const resetAt = resetAfterHold(counter.window, view.placement, view.resetAt)
      snapshots[index] = this.#snapshot(counter, { ...view, reserved: view.reserved + amount, resetAt }, now)
    }
    if (!holding) return { ok: true, placements, held, snapshots }
    const hold: LeaseHold = {
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
      fate: 'holding',
    }
    this.#holds.push(hold)
    const result = { ok: true as const, placements, held, snapshots, hold }
    this.#leases.set(request.leaseId, result)
    return result
  }

  /**
   * Answers at once. Settles the `hold` given back (expired or not); without one, charges where the
   * windows are now. Lua twin: `settle_one` (redis/lua/settle.ts).
   */
  settle(request: SettleRequest): readonly ChargeOutcome[] {
    const { charges, now } = request
    this.#maintain(now)
    const hold = this.#holdOf(request.hold)
    // A settle sent again after it applied (on time, or late) charges nothing, as in the Lua scripts.
    if (hold?.settledLate || (hold?.fate === 'holding' && hold.returned)) return charges.map(() => nothingCharged)
    const fate = hold?.fate
    if (fate === 'holding') {
      hold!.returned = true
      this.#holds.noteReturned()
      this.#leases.delete(hold!.leaseId)
      // Holds on counters the settle does not name are returned too.
      for (let index = charges.length; index < hold!.slots.length; index += 1) this.#returnHeld(hold!, index, false, now)
    } else if (fate !== undefined) hold!.settledLate = true
    return charges.map((charge, index) => {
      const held = settlesInPlace(fate) ? hold!.amounts[index]! : 0
      if (charge.window.kind !== 'balance') return this.#charge(charge, settlesInPlace(fate) ? hold!.slots[index] : undefined, fate, held, now)
      return this.#balances.settle(charge, fate, held, charge.amount, { leaseId: request.leaseId, record: hold?.record }, now)
    })
  }

  /** Charges one counter: where it was held (`placed`), else where its window is now. */
  #charge(charge: Charge, placed: Slot | undefined, fate: HoldFate | undefined, held: number, now: number): ChargeOutcome {
    const slot = placed ?? this.#slots.slotAt(charge, now)
    if (!slot) return nothingCharged
    const change = settleChange(placed ? fate! : 'released', placed ? held : 0, charge.amount)
    if (charge.reportUsed === false) {
      addTo(slot, change)
      return nothingCharged // nobody reads it
    }
    // The window's total, not the slot's: a rolling window sums many buckets.
    const usedBefore = charge.window.kind === 'rolling' ? this.#slots.view(charge, now, false).used : slot.used
    addTo(slot, change)
    return { usedBefore, usedAfter: usedBefore + change.used }
  }

  /**
   * Answers at once. Moves an unsettled hold's expiry, and its place in the hold queue; `false`
   * when the lease is settled, expired or unknown. Lua twin: the `extend` script (redis/lua/lease.ts).
   */
  extend(request: ExtendRequest): boolean {
    this.#maintain(request.now)
    const hold = this.#holdOf(request.hold) ?? this.#holdOf(this.#leases.get(request.leaseId)?.hold)
    if (!hold || hold.returned) return false
    hold.expiresAt = request.expiresAt
    this.#holds.moved(hold)
    return true
  }

  /** Answers at once: what this store keeps of a lease. Lua twin: the `inspect-lease` script (redis/lua/lease.ts). */
  inspectLease(request: InspectLeaseRequest): StoredLease | undefined {
    this.#maintain(request.now)
    const hold = this.#holdOf(this.#leases.get(request.leaseId)?.hold)
    if (!hold || hold.settledLate || (hold.returned && hold.fate === 'holding')) return undefined
    return { state: hold.fate, expiresAt: hold.expiresAt, record: hold.record, held: hold.amounts }
  }

  /** A hold this store made; anything else a careless caller passes (another store's hold) counts as none. */
  #holdOf(hold: StoreHold | undefined): LeaseHold | undefined {
    return (hold as LeaseHold | undefined)?.owner === this ? (hold as LeaseHold) : undefined
  }

  /** Ends a hold that outlived its lease: charged where it was held (or returned), and kept a while for a late settle. Lua twin: `expire_holds` (redis/lua/common.ts). */
  #expire(hold: LeaseHold, now: number): void {
    hold.returned = true
    hold.fate = hold.chargeOnExpiry ? 'charged' : 'released'
    for (let index = 0; index < hold.slots.length; index += 1) this.#returnHeld(hold, index, hold.chargeOnExpiry, now)
    if (!hold.chargeOnExpiry || !this.#onExpiryCharge) return
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

  /** Returns what a hold held on one counter, charging it as usage (or from a balance's grants) when `charge`. */
  #returnHeld(hold: LeaseHold, index: number, charge: boolean, now: number): void {
    const slot = hold.slots[index]
    if (!slot) return
    const counter = hold.counters[index]!
    if (counter.window.kind === 'balance') this.#balances.expireHold(counter, hold.amounts[index]!, charge, hold, now)
    else addTo(slot, expiryChange(hold.amounts[index]!, charge))
  }

  #maintain(now: number): void {
    this.#holds.takeExpired(now, (hold) => this.#expire(hold, now))
    if (now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + this.#sweepIntervalMs
      this.#slots.evict(now)
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
      const { returned, fate, expiresAt } = hold as LeaseHold
      if (returned && (fate === 'holding' || expiredForgotten(expiresAt, now))) this.#leases.delete(leaseId)
    }
  }

  /** Zero usage in each counter's current window; holds stay. Lua twin: the `reset` script (redis/lua/admin.ts). */
  #resetUsage({ now, counters }: AdminRead): void {
    this.#maintain(now)
    for (const counter of counters) this.#slots.resetUsage(counter, now)
  }
}
