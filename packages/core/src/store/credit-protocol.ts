import type { MaybePromise } from '../shared/types.js'

/**
 * The store side of credit balances (`type: 'balance'` policies): prepaid credit grants, spent in
 * order, on an append-only ledger.
 *
 * A balance is a counter whose window is `{ kind: 'balance' }` (no window, never resets). Its
 * capacity is not the request's `limit` but the store's **grants**: `available = Σ remaining of
 * unexpired grants − reserved`. A reservation on a balance counter is refused (all or nothing, with
 * every other counter) when `amount > available`; in a fill group (`CounterRequest.group`) the
 * balance is the group's last counter and holds what the allowance before it could not.
 *
 * Spending order (`creditSpendOrder`): lower `priority` first, then earliest `expiresAt` (no
 * expiry last), then earliest granted. A settle draws its charge from the grants in that order; a
 * grant that reaches `expiresAt` loses its remainder (an `expiry` ledger row). The balance is
 * never negative: a charge above what the grants still hold draws them to zero and reports the
 * rest as `unpaid` (never silently free: the engine emits an event for it).
 *
 * Every change is a ledger row, written in the same atomic step as the change itself, and the
 * balance always equals the sum of the ledger's `amount`s.
 */

/** One counter family's balance for one identifier (the `CounterRef` of a `{ kind: 'balance' }` counter, without the window). */
export interface BalanceRef {
  /** Counter family (the balance policy's name or `sharedName`). */
  readonly counter: string
  /** The identifier's key, as in `CounterRef.identifier`. */
  readonly identifier: string
  readonly shard?: string
}

/** Default `priority` of a grant (Stripe's convention: 0–100, lower is spent first). */
export const defaultCreditPriority = 50

/** A credit grant as a store keeps it. */
export interface CreditGrant {
  /** The top-up's idempotency key: one grant per key, forever. */
  readonly key: string
  /** What was granted, in counter units (a positive integer; units of 1e-8 dollar for a dollar balance). */
  readonly amount: number
  /** What is left of it (0 ≤ remaining ≤ amount). */
  readonly remaining: number
  /** 0–100, lower spent first. @default 50 */
  readonly priority: number
  /** Epoch ms after which its remainder is gone. `undefined`: never expires. */
  readonly expiresAt?: number
  /** When it was granted (epoch ms, the engine's time). */
  readonly grantedAt: number
}

/** What a ledger row records. Amounts are signed: credits in are positive, credits out negative. */
export type LedgerKind =
  /** Credits added (`writeCredits` `topup`, or a rollover): positive. */
  | 'topup'
  /** A settled (or expired and charged) lease drew credits: negative. */
  | 'charge'
  /** A grant reached its `expiresAt`; its remainder is gone: negative. */
  | 'expiry'
  /** A lease settled for less than its expiry already charged gives the difference back: positive. */
  | 'refund'
  /** An operator's adjustment (`writeCredits` `correction`): positive or negative. */
  | 'correction'

/** One row of a balance's append-only ledger. */
export interface LedgerEntry {
  /** Position in this balance's ledger, from 1, without gaps. */
  readonly seq: number
  readonly at: number
  readonly kind: LedgerKind
  /** Signed, in counter units. The balance is the sum of every row's `amount`. */
  readonly amount: number
  /** The balance after this row. */
  readonly balanceAfter: number
  /** The grant the row is about (`topup`, `expiry`), by key. */
  readonly grant?: string
  /** For `charge` and `refund`: the lease. */
  readonly leaseId?: string
  /** For `charge` and `refund`: the lease's record (see `StoreReserveRequest.record`). */
  readonly record?: string
  /** For `charge`: how much came from each grant, in spending order. */
  readonly drawn?: ReadonlyArray<{ readonly grant: string; readonly amount: number }>
  /** For `charge`: what the grants could not pay (the balance stopped at zero). */
  readonly unpaid?: number
  /** For `topup` and `correction`: who, and why (as the caller said). */
  readonly by?: string
  readonly reason?: string
}

/**
 * Adds or corrects credits, once per `key` forever (a payment's event id replayed from any
 * process, at any time, credits once; the same key with a different change is refused with
 * `IdempotencyKeyReused` and changes nothing).
 */
export interface CreditWrite extends BalanceRef {
  readonly now: number
  readonly key: string
  readonly change: /** A new grant. */
    | { readonly kind: 'topup'; readonly amount: number; readonly expiresAt?: number; readonly priority?: number }
    /**
     * An operator's adjustment: positive adds a grant (no expiry, default priority); negative
     * draws from the grants in spending order and is refused (`InsufficientCreditsError`, in
     * counter units: `unit: 'counter'`; nothing written) when the balance cannot cover it.
     */
    | { readonly kind: 'correction'; readonly amount: number }
  readonly by?: string
  readonly reason?: string
}

export interface CreditWriteOutcome {
  /** `false` when the key had been applied before: nothing changed this time. */
  readonly applied: boolean
  readonly balance: BalanceState
}

/** A balance at one instant (after expiring what is due at `now`). */
export interface BalanceState {
  /** Σ remaining of unexpired grants: what the ledger sums to. */
  readonly balance: number
  /** Held by unsettled leases. */
  readonly reserved: number
  /** Unexpired grants with something left, in spending order. */
  readonly grants: readonly CreditGrant[]
  /** Expiries this call recorded (for `creditsExpired` events). */
  readonly expired?: readonly LedgerEntry[]
}

export interface BalanceRead {
  readonly now: number
  readonly shard?: string
  readonly balances: readonly BalanceRef[]
}

export interface LedgerRead extends BalanceRef {
  /** Rows with `seq` greater than this. @default 0 */
  readonly after?: number
  /** At most this many rows, oldest first. */
  readonly limit: number
}

/**
 * Credit storage: every store that can hold `{ kind: 'balance' }` counters has one
 * (`QuotaStore.credits`). Reservations, settles and expiries of balance counters go through the
 * store's ordinary `reserve` / `settle`; this interface adds the grants and the ledger.
 */
export interface StoreCredits {
  writeCredits(request: CreditWrite): MaybePromise<CreditWriteOutcome>
  readBalances(request: BalanceRead): MaybePromise<readonly BalanceState[]>
  readLedger(request: LedgerRead): MaybePromise<readonly LedgerEntry[]>
}

/** Orders grants for spending: lower priority, then earliest expiry (none last), then earliest granted, then key. */
export function creditSpendOrder(a: CreditGrant, b: CreditGrant): number {
  if (a.priority !== b.priority) return a.priority - b.priority
  const aEnd = a.expiresAt ?? Number.POSITIVE_INFINITY
  const bEnd = b.expiresAt ?? Number.POSITIVE_INFINITY
  if (aEnd !== bEnd) return aEnd < bEnd ? -1 : 1
  if (a.grantedAt !== b.grantedAt) return a.grantedAt - b.grantedAt
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}
