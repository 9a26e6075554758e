import {
  applyCreditWrite,
  balanceOf,
  chargeRow,
  checkCreditWrite,
  checkNewTopUpExpiry,
  creditSettleChange,
  creditWriteApplies,
  creditWriteFingerprint,
  drawCredits,
  expireGrants,
  expiryRows,
  type HoldFate,
  type LedgerChange,
  ledgerRow,
  refundCredits,
  refundRow,
} from '../algebra/index.js'
import type { BalanceRead, BalanceRef, BalanceState, CreditGrant, CreditWrite, CreditWriteOutcome, LedgerEntry, LedgerRead } from '../credit-protocol.js'
import type { ChargeOutcome } from '../quota-store.js'
import { type Families, familyOf, type Slot, stateOf, type View } from './slot.js'
import { neverResetsAt } from '../../shared/never-resets.js'

/** One balance: its grants (in spending order, spent ones kept until they expire), its holds, its ledger and every key it applied. */
interface Balance extends Slot {
  grants: CreditGrant[]
  readonly ledger: LedgerEntry[]
  /** Credit write key → the change's fingerprint, forever. */
  readonly keys: Map<string, string>
  /** Expiry rows recorded but not yet given back by a call (an expiry found while expiring a hold of another call). */
  unreported: LedgerEntry[]
  /** Lease id → what its expiry charge left unpaid, until its late settle (which must not refund it). */
  readonly unpaidAtExpiry: Map<string, number>
}

/** A lease as a balance's ledger names it. */
interface LeaseOf {
  readonly leaseId: string
  readonly record?: string
}

/**
 * MemoryStore's credit balances (`{ kind: 'balance' }` counters): grants, holds and the ledger,
 * kept forever (a balance is paid money, never evicted). The rules are the credit algebra's
 * (`store/algebra/credits.ts`); this class keeps only where they live.
 */
export class BalanceSlots {
  readonly #families: Families<Balance> = new Map()

  /** A balance at `now` as a counter: `used` 0, the balance as `limit`, never resets. Lua twin: `view` (kind `b`) in redis/lua/common.ts. */
  view(ref: BalanceRef, now: number): View {
    const balance = this.#touch(ref, now)
    return {
      used: 0,
      reserved: balance?.reserved ?? 0,
      windowStart: 0,
      resetAt: neverResetsAt,
      limit: balanceOf(balance?.grants ?? []),
      slot: balance,
      placement: 0,
    }
  }

  /** The balance a hold goes in, created when it has none yet. */
  slotFor(ref: BalanceRef): Slot {
    return stateOf(this.#families, ref) ?? this.#create(ref)
  }

  /** The expiry rows recorded on a balance and not yet given back (each is given back once). */
  takeExpired(ref: BalanceRef): readonly LedgerEntry[] | undefined {
    const balance = stateOf(this.#families, ref)
    if (!balance || balance.unreported.length === 0) return undefined
    const rows = balance.unreported
    balance.unreported = []
    return rows
  }

  /**
   * Settles a lease on a balance by its hold's fate: returns the hold, then draws the charge in
   * spending order (or, after an expiry that charged, the difference or a refund). Lua twin:
   * `settle_credits` in redis/lua/credits.ts.
   */
  settle(ref: BalanceRef, fate: HoldFate | undefined, held: number, amount: number, lease: LeaseOf, now: number): ChargeOutcome {
    const balance = this.#touch(ref, now) ?? this.#create(ref)
    if (fate === 'holding') balance.reserved -= held
    const balanceBefore = balanceOf(balance.grants)
    const unpaidThen = balance.unpaidAtExpiry.get(lease.leaseId) ?? 0
    balance.unpaidAtExpiry.delete(lease.leaseId)
    const { draw, refund } = creditSettleChange(fate, held, amount, unpaidThen)
    let unpaid = 0
    if (draw > 0) unpaid = this.#draw(balance, draw, lease, now)
    if (refund > 0) {
      balance.grants = refundCredits(balance.grants, refund, lease.leaseId, now).grants
      this.#append(balance, refundRow(refund, lease, now))
    }
    const expired = this.takeExpired(ref)
    return {
      usedBefore: 0,
      usedAfter: 0,
      balanceBefore,
      balanceAfter: balanceOf(balance.grants),
      ...(unpaid > 0 ? { unpaid } : {}),
      ...(expired ? { expired } : {}),
    }
  }

  /** Ends a hold whose lease expired unsettled: returned, and charged from the grants like a settle when `charge`. Lua twin: `expire_holds` (kind `b`) in redis/lua/common.ts. */
  expireHold(ref: BalanceRef, held: number, charge: boolean, lease: LeaseOf, now: number): void {
    const balance = this.#touch(ref, now) ?? this.#create(ref)
    balance.reserved -= held
    if (!charge || held === 0) return
    const unpaid = this.#draw(balance, held, lease, now)
    if (unpaid > 0) balance.unpaidAtExpiry.set(lease.leaseId, unpaid)
  }

  /** Adds or corrects credits once per key, forever. Lua twin: `write_credits` in redis/lua/credits.ts. */
  write(request: CreditWrite): CreditWriteOutcome {
    checkCreditWrite(request)
    const balance = this.#touch(request, request.now) ?? this.#create(request)
    const fingerprint = creditWriteFingerprint(request)
    const applied = creditWriteApplies(balance.keys.get(request.key), fingerprint, request.key)
    if (applied) {
      checkNewTopUpExpiry(request)
      const { grants, row } = applyCreditWrite(balance.grants, request)
      balance.grants = grants
      balance.keys.set(request.key, fingerprint)
      this.#append(balance, row)
    }
    return { applied, balance: this.#state(request, balance) }
  }

  /** Lua twin: `read_balances` in redis/lua/credits.ts. */
  read({ now, balances }: BalanceRead): BalanceState[] {
    return balances.map((ref) => {
      const balance = this.#touch(ref, now)
      return balance ? this.#state(ref, balance) : { balance: 0, reserved: 0, grants: [] }
    })
  }

  /** Lua twin: `read_ledger` in redis/lua/credits.ts. */
  ledger({ after = 0, limit, ...ref }: LedgerRead): LedgerEntry[] {
    const ledger = stateOf(this.#families, ref)?.ledger ?? []
    // Rows are numbered from 1 without gaps: row `seq` is at index `seq - 1`.
    return ledger.slice(Math.max(0, after), Math.max(0, after) + Math.max(0, limit))
  }

  #state(ref: BalanceRef, balance: Balance): BalanceState {
    const expired = this.takeExpired(ref)
    return {
      balance: balanceOf(balance.grants),
      reserved: balance.reserved,
      grants: balance.grants.filter((grant) => grant.remaining > 0),
      ...(expired ? { expired } : {}),
    }
  }

  /** Draws a lease's charge and writes its row; returns what was unpaid. */
  #draw(balance: Balance, amount: number, lease: LeaseOf, now: number): number {
    const draw = drawCredits(balance.grants, amount)
    balance.grants = draw.grants
    const row = chargeRow(draw, lease, now)
    if (row) this.#append(balance, row)
    return draw.unpaid
  }

  /** The balance with its grants due at `now` expired (each an `expiry` row, to be given back once); `undefined` when it has none. */
  #touch(ref: BalanceRef, now: number): Balance | undefined {
    const balance = stateOf(this.#families, ref)
    if (!balance) return undefined
    const { grants, expired } = expireGrants(balance.grants, now)
    if (grants.length === balance.grants.length) return balance
    balance.grants = grants
    for (const change of expiryRows(expired)) balance.unreported.push(this.#append(balance, change))
    return balance
  }

  #append(balance: Balance, change: LedgerChange): LedgerEntry {
    const row = ledgerRow(balance.ledger.at(-1), change)
    balance.ledger.push(row)
    return row
  }

  #create(ref: BalanceRef): Balance {
    const balance: Balance = { used: 0, reserved: 0, grants: [], ledger: [], keys: new Map(), unreported: [], unpaidAtExpiry: new Map() }
    familyOf(this.#families, ref.counter).set(ref.identifier, balance)
    return balance
  }
}
