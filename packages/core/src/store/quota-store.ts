import type { CounterRef, WindowSpec } from './counter-ref.js'
import type { MaybePromise } from '../shared/types.js'
import type { StoreAdmin } from './store-admin.js'

export type { CounterRef, MaybePromise, WindowSpec }

/** One counter a reservation touches. */
export interface CounterRequest extends CounterRef {
  /** Refuse when `used + reserved + amount` would exceed this. `undefined`: never refuse. */
  readonly limit?: number
  /** Tokens the request may use, in this counter's unit. */
  readonly amount: number
  /** Hold `amount` until the lease is settled (`false` for a check that counts nothing). */
  readonly hold: boolean
}

/** A counter's state at one instant. */
export interface CounterSnapshot {
  /** Tokens committed in the window. */
  readonly used: number
  /** Tokens held by unsettled, unexpired reservations. */
  readonly reserved: number
  /** Start of the window (for a rolling window: `now - length`). */
  readonly windowStart: number
  /** When the counter is back to zero if nothing else is charged: the window's end, or for a rolling window the moment its newest tokens leave it. */
  readonly resetAt: number
  /** The limit in force, when an operator's override (`StoreAdmin`) made it differ from the request's. */
  readonly limit?: number
}

/**
 * The shard of a request (e.g. its org), from the engine's `shardKey` option. Stores that
 * partition (Redis Cluster hash tags) keep every key of one request in that shard.
 */
interface Sharded {
  readonly shard?: string
}

/**
 * What becomes of a hold whose lease expires unsettled: `'charge'` turns it into usage (a lost
 * commit errs toward the quota), `'release'` returns it. A commit after expiry replaces the
 * expiry charge with its real amount, once.
 */
export type LeaseExpiry = 'charge' | 'release'

export interface StoreReserveRequest extends Sharded {
  readonly leaseId: string
  readonly now: number
  /** When held amounts are charged (or returned) on their own if the lease is never settled. */
  readonly expiresAt: number
  /** @default 'charge' */
  readonly onExpiry?: LeaseExpiry
  readonly counters: readonly CounterRequest[]
}

export interface CounterRefusal {
  /** Index in `StoreReserveRequest.counters`. */
  readonly index: number
  readonly snapshot: CounterSnapshot
  /** Earliest instant at which the same request would fit, assuming nothing else changes. */
  readonly retryAt: number
}

export type ReserveResult =
  | {
      readonly ok: true
      /** Per counter: the window start (or rolling bucket start) where the amount is held. */
      readonly placements: readonly number[]
      /** Per counter: state after the reservation. */
      readonly snapshots: readonly CounterSnapshot[]
      /**
       * The store's own handle on what it holds (MemoryStore: the hold itself, so settling needs no
       * lookup by id). Opaque to callers: pass it back in `SettleRequest.hold`. Stores that find
       * leases by id return none.
       */
      readonly hold?: StoreHold
    }
  | { readonly ok: false; readonly refusals: readonly CounterRefusal[] }

/** Replace one held amount by the real charge. */
export interface Charge extends CounterRef {
  /** The placement returned by `reserve`. */
  readonly placement: number
  /** What `reserve` held there: returned, or, when the lease expired and was charged, deducted from the charge. */
  readonly held: number
  /** Tokens to add to `used`. */
  readonly amount: number
  /**
   * Whether the outcome's used-before/after is needed (for thresholds). `false` lets a store skip
   * work it would do only to measure; the outcome then may be zeros.
   * @default true
   */
  readonly reportUsed?: boolean
}

/** What `reserve` returned as `hold`: opaque, for the same store's `settle`. */
export type StoreHold = object

export interface SettleRequest extends Sharded {
  readonly leaseId: string
  /** The `hold` the reservation returned, if any: a store that gave one settles by it (a settle without it charges where the windows are now and leaves the hold to expire). */
  readonly hold?: StoreHold
  readonly now: number
  /** The lease's expiry, as given to `reserve`: how long a store must remember that it was settled. */
  readonly expiresAt: number
  readonly charges: readonly Charge[]
}

/** A counter to read; with its policy's `limit`, the snapshot tells the limit in force when an override changes it. */
export interface CounterRead extends CounterRef {
  readonly limit?: number
}

export interface ReadRequest extends Sharded {
  readonly now: number
  readonly counters: readonly CounterRead[]
}

/** Per charge: committed tokens in its window before and after, to detect threshold crossings exactly once. */
export interface ChargeOutcome {
  readonly usedBefore: number
  readonly usedAfter: number
}

/**
 * Counter storage. Every implementation passes `describeQuotaStoreContract` from
 * `@tokenquota/core/testing`.
 *
 * - `reserve` is atomic across all counters: either every limit holds and every amount is held,
 *   or nothing is written.
 * - `settle` returns a lease's held amounts (unless it expired) and adds the real charges.
 * - Time comes from the request (`now`), never from the store's own clock.
 * - Each method may answer synchronously (the engine then spends no promise on the call) or with a
 *   promise; a synchronous failure is thrown, an asynchronous one rejects.
 */
export interface QuotaStore {
  reserve(request: StoreReserveRequest): MaybePromise<ReserveResult>
  settle(request: SettleRequest): MaybePromise<readonly ChargeOutcome[]>
  read(request: ReadRequest): MaybePromise<readonly CounterSnapshot[]>
  /**
   * Sends what the store has accepted but not yet written through (SyncedStore's pending
   * charges). The engine's `quota.flush()` calls it; rejects when the writes could not be sent.
   */
  flush?(): Promise<void>
  /** Stops the store's timers after a last flush (`quota.close()` calls it). */
  close?(): Promise<void>
  /** Overrides, resets, last refusals and the audit log (`quota.admin`). Every store of this package has one. */
  readonly admin?: StoreAdmin
}
