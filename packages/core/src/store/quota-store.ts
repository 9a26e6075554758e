import type { CounterRef, WindowSpec } from './counter-ref.js'
import type { MaybePromise } from '../shared/types.js'
import type { StoreAdmin } from './store-admin.js'
import type { LedgerEntry, StoreCredits } from './credit-protocol.js'

export type { CounterRef, MaybePromise, WindowSpec }

/**
 * One counter a reservation touches.
 *
 * A store checks `used + reserved + amount <= limit` on every counter and, when all fit, adds
 * `amount` to `reserved` on every counter with `hold` — except in a fill group (see `group`),
 * where it may hold less on some counters and says so in `ReserveResult.held`.
 */
export interface CounterRequest extends CounterRef {
  /** Refuse when `used + reserved + amount` would exceed this. `undefined`: never refuse. */
  readonly limit?: number
  /** Tokens the request may use, in this counter's unit. A non-negative integer. */
  readonly amount: number
  /** Hold `amount` until the lease is settled (`false` for a check that counts nothing). */
  readonly hold: boolean
  /**
   * Fill group. Counters that name the same group are filled in the order they appear in
   * `StoreReserveRequest.counters` (e.g. a plan's allowance, then a credit balance): each carries
   * the group's whole amount, the store holds on each counter as much of what is still unheld as
   * fits under its limit, and the last counter of the group takes the rest — the group is refused
   * (on its last counter) only when all of them together cannot hold the amount. What each
   * counter held is in `ReserveResult.held`; counters of a group share one unit.
   *
   * A store that does not fill groups holds the whole amount on every counter of the group and
   * refuses when any one cannot: stricter, never looser. `undefined`: the counter is on its own.
   */
  readonly group?: string
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
  /**
   * The limit in force, when an operator's override (`StoreAdmin`) made it differ from the request's.
   * For a balance counter (`{ kind: 'balance' }`): always set, the balance (Σ remaining of unexpired
   * grants); `used` is then 0, `windowStart` 0 and `resetAt` `Number.MAX_SAFE_INTEGER`.
   */
  readonly limit?: number
  /** Balance counters only: grant expiries this call recorded (for `creditsExpired` events). */
  readonly expired?: readonly LedgerEntry[]
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

/**
 * A reservation: hold capacity on every counter, or on none.
 *
 * Idempotent by `leaseId`: a store that receives the same lease id again while it remembers the
 * lease (until an hour after it expired) answers as the first time and holds nothing more — a
 * client re-sending after a lost reply must not hold twice.
 */
export interface StoreReserveRequest extends Sharded {
  /** Unique per reservation; settle, extend and expiry find the hold by it. */
  readonly leaseId: string
  /** The engine's time (epoch ms). A store never reads its own clock. */
  readonly now: number
  /**
   * When held amounts are charged (or returned) on their own if the lease is never settled. Each
   * reservation has its own lifetime: a store must expire every hold at its own `expiresAt`, never
   * assume holds expire in the order they were made (a long-lived hold must not delay the expiry of
   * short ones behind it). `extend` moves it later.
   */
  readonly expiresAt: number
  /** @default 'charge' */
  readonly onExpiry?: LeaseExpiry
  readonly counters: readonly CounterRequest[]
  /**
   * An opaque record of what the hold is for (the engine's is short JSON: who, policies, model,
   * price source). The store keeps it with the hold, unread, and gives it back wherever the hold
   * ends — in `settle` and in its expiry (MemoryStore's `onExpiryCharge`, the Lua scripts' expiry
   * inside any script) — so an outbox or ledger entry can be written in the same atomic step.
   * A single line (no `\n`), at most a few kilobytes.
   */
  readonly record?: string
}

/** A counter that refused a reservation, and the state that made it refuse. */
export interface CounterRefusal {
  /** Index in `StoreReserveRequest.counters`. */
  readonly index: number
  readonly snapshot: CounterSnapshot
  /** Earliest instant at which the same request would fit, assuming nothing else changes. */
  readonly retryAt: number
}

/**
 * A store's answer to `reserve`: every counter held (`ok: true`), or the counters that refused
 * (`ok: false`, nothing written). All arrays of a success are indexed like the request's counters.
 */
export type ReserveResult =
  | {
      readonly ok: true
      /** Per counter: the window start (or rolling bucket start) where the amount is held. */
      readonly placements: readonly number[]
      /**
       * Per counter: what the store really holds there — the request's `amount` for a counter on
       * its own with `hold`, 0 without `hold`, and its share for a counter of a fill group (see
       * `CounterRequest.group`). Settlement returns exactly this and spreads the real charge by it.
       */
      readonly held: readonly number[]
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

/** Replace one held amount by the real charge: one counter of a `SettleRequest`. */
export interface Charge extends CounterRef {
  /** The placement returned by `reserve`. */
  readonly placement: number
  /** What `reserve` held there (its `held` entry): returned, or, when the lease expired and was charged, deducted from the charge. */
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

/**
 * Settles a lease: returns each counter's hold and adds its real charge, once. A settle of a lease
 * that already expired charges the difference to what expiry charged (or, after a returned
 * expiry, the whole charge); a settle sent again after it applied charges nothing. The store
 * gives back the hold's `record` here, for an entry written in the same step.
 */
export interface SettleRequest extends Sharded {
  readonly leaseId: string
  /** The `hold` the reservation returned, if any: a store that gave one settles by it (a settle without it charges where the windows are now and leaves the hold to expire). */
  readonly hold?: StoreHold
  readonly now: number
  /** The lease's expiry, as given to `reserve` (or the latest `extend`): how long a store must remember that it was settled. */
  readonly expiresAt: number
  readonly charges: readonly Charge[]
}

/** A counter to read; with its policy's `limit`, the snapshot tells the limit in force when an override changes it. */
export interface CounterRead extends CounterRef {
  readonly limit?: number
}

/** Reads counters without changing them (beyond expiring holds that are due at `now`). */
export interface ReadRequest extends Sharded {
  readonly now: number
  readonly counters: readonly CounterRead[]
}

/** Per charge: committed tokens in its window before and after, to detect threshold crossings exactly once. */
export interface ChargeOutcome {
  readonly usedBefore: number
  readonly usedAfter: number
  /** Balance counters only: the balance before and after the charge (its `charge` or `refund` ledger row). */
  readonly balanceBefore?: number
  readonly balanceAfter?: number
  /** Balance counters only: what the grants could not pay (the balance stopped at zero). */
  readonly unpaid?: number
  /** Balance counters only: grant expiries this call recorded. */
  readonly expired?: readonly LedgerEntry[]
}

/**
 * Moves an unsettled lease's expiry to `expiresAt` (later or earlier). Answers `false`, changing
 * nothing, when the store no longer holds the lease: settled, expired at `now`, or unknown. A
 * retried extend is harmless: it sets the same time again.
 */
export interface ExtendRequest extends Sharded {
  readonly leaseId: string
  /** The `hold` the reservation returned, if any. */
  readonly hold?: StoreHold
  readonly now: number
  readonly expiresAt: number
}

/**
 * Counter storage. Every implementation passes `describeQuotaStoreContract` from
 * `@tokenquota/core/testing`.
 *
 * - `reserve` is atomic across all counters: either every limit holds and every amount is held,
 *   or nothing is written.
 * - `settle` returns a lease's held amounts (unless it expired) and adds the real charges.
 * - `extend` moves an unsettled lease's expiry; every hold expires at its own time.
 * - Every hold keeps the reservation's opaque `record`, given back where the hold is settled or
 *   expires.
 * - Time comes from the request (`now`), never from the store's own clock.
 * - `reserve` and `settle` are idempotent by lease id (a re-sent call applies once).
 * - Each method may answer synchronously (the engine then spends no promise on the call) or with a
 *   promise; a synchronous failure is thrown, an asynchronous one rejects.
 */
export interface QuotaStore {
  reserve(request: StoreReserveRequest): MaybePromise<ReserveResult>
  settle(request: SettleRequest): MaybePromise<readonly ChargeOutcome[]>
  /** Moves a lease's expiry; `false` when the lease no longer holds (see `ExtendRequest`). */
  extend(request: ExtendRequest): MaybePromise<boolean>
  read(request: ReadRequest): MaybePromise<readonly CounterSnapshot[]>
  /**
   * What the store keeps of one lease: its expiry, its record, what it holds per counter, and
   * whether it still holds — `undefined` once it is forgotten (settled, or an hour after it
   * expired). For tests, operators and the exit audit; never on the hot path.
   */
  inspectLease?(request: InspectLeaseRequest): MaybePromise<StoredLease | undefined>
  /**
   * Sends what the store has accepted but not yet written through (SyncedStore's pending
   * charges). The engine's `quota.flush()` calls it; rejects when the writes could not be sent.
   */
  flush?(): Promise<void>
  /** Stops the store's timers after a last flush (`quota.close()` calls it). */
  close?(): Promise<void>
  /** Overrides, resets, last refusals and the audit log (`quota.admin`). Every store of this package has one. */
  readonly admin?: StoreAdmin
  /**
   * Credit grants and the ledger of `{ kind: 'balance' }` counters. A store without it cannot hold
   * balance policies (the engine refuses them at construction).
   */
  readonly credits?: StoreCredits
  /**
   * Whether `credits` survive the store's restart. `'volatile'` (RedisStore, UpstashStore): only
   * when the server persists every write (AOF: `appendonly yes`, `appendfsync everysec` or
   * `always`), so the engine warns (`VolatileCredits`) when a balance policy runs on such a store.
   * `'durable'`: the store commits each write to disk before it answers. `undefined`: not said (no
   * warning; MemoryStore keeps nothing beyond its process).
   */
  readonly creditDurability?: 'durable' | 'volatile'
}

/** Which lease `QuotaStore.inspectLease` looks up. */
export interface InspectLeaseRequest extends Sharded {
  readonly leaseId: string
  readonly now: number
}

/** A lease as a store keeps it (`QuotaStore.inspectLease`). */
export interface StoredLease {
  /** `holding` until settled; after expiry `charged` or `released` (kept an hour for a late settle). */
  readonly state: 'holding' | 'charged' | 'released'
  readonly expiresAt: number
  /** The reservation's `record`, as given. */
  readonly record: string | undefined
  /** Per counter of the reservation: what it holds (its `ReserveResult.held`). */
  readonly held: readonly number[]
}
