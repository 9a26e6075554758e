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
  inSpendOrder,
  type HoldFate,
  type LedgerChange,
  ledgerRow,
  refundCredits,
  refundRow,
} from '../algebra/index.js'
import type { BalanceState, CreditGrant, CreditWrite, CreditWriteOutcome, LedgerEntry, LedgerRead } from '../credit-protocol.js'
import type { ChargeOutcome, CounterSnapshot } from '../quota-store.js'
import type { BalanceRowState, CounterRow } from './counter-state.js'
import type { PgClientLike, PgPoolLike } from './pg-client.js'
import type { Tables } from './schema.js'
import type { WriteBatch } from './write-batch.js'

/** A lease as a balance's ledger names it. */
export interface LeaseOf {
  readonly leaseId: string
  readonly record?: string
}

const neverResets = Number.MAX_SAFE_INTEGER

function grantOf(row: Record<string, unknown>): CreditGrant {
  const grant = {
    key: row.key as string,
    amount: Number(row.amount),
    remaining: Number(row.remaining),
    priority: Number(row.priority),
    grantedAt: Number(row.granted_at),
  }
  return row.expires_at === null ? grant : { ...grant, expiresAt: Number(row.expires_at) }
}

/**
 * The credit balances of one transaction's locked counter rows: their grants (read once), the
 * ledger rows it appends, and what it changed, written back with the rows. Every rule is the
 * credit algebra's (`store/algebra/credits.ts`); twin of MemoryStore's `BalanceSlots`.
 */
export class LockedBalances {
  readonly #grants = new Map<string, CreditGrant[]>()
  readonly #changed = new Set<string>()
  readonly #appended: Array<{ key: string; row: LedgerEntry }> = []

  constructor(
    readonly client: PgClientLike,
    readonly tables: Tables,
    readonly rows: ReadonlyMap<string, CounterRow>,
    readonly now: number,
    readonly batch: WriteBatch,
  ) {}

  /** Takes the grants of the locked balance rows (read with them) and expires those due at `now`. */
  load(rows: ReadonlyArray<Record<string, unknown>>): void {
    const keys = [...this.rows].flatMap(([key, row]) => (row.state?.kind === 'balance' ? [key] : []))
    for (const key of keys) this.#grants.set(key, [])
    for (const row of rows) this.#grants.get(row.balance as string)!.push(grantOf(row))
    for (const key of keys) this.#grants.set(key, inSpendOrder(this.#grants.get(key)!))
    for (const key of keys) this.#expireDue(key)
  }

  /** A balance row's state, created (empty) when it has none yet. */
  #state(key: string): BalanceRowState {
    const row = this.rows.get(key)
    if (!row) throw new Error(`balance row ${key} is not locked`)
    row.dirty = true
    if (row.state?.kind !== 'balance') {
      row.state = { kind: 'balance', reserved: 0, balance: 0, seq: 0, unreported: [] }
      this.#grants.set(key, [])
    }
    return row.state as BalanceRowState
  }

  #expireDue(key: string): void {
    const { grants, expired } = expireGrants(this.#grants.get(key)!, this.now)
    if (grants.length === this.#grants.get(key)!.length) return
    this.#setGrants(key, grants)
    const state = this.#state(key)
    for (const change of expiryRows(expired)) state.unreported.push(this.#append(key, change))
  }

  #setGrants(key: string, grants: CreditGrant[]): void {
    this.#grants.set(key, grants)
    this.#changed.add(key)
  }

  #append(key: string, change: LedgerChange): LedgerEntry {
    const state = this.#state(key)
    const row = ledgerRow({ seq: state.seq, balanceAfter: state.balance }, change)
    state.seq = row.seq
    state.balance = row.balanceAfter
    this.#appended.push({ key, row })
    return row
  }

  /** The expiry rows not yet given back, taken (each is given back once). */
  #takeExpired(key: string): { expired?: readonly LedgerEntry[] } {
    const state = this.rows.get(key)?.state
    if (state?.kind !== 'balance' || state.unreported.length === 0) return {}
    const expired = state.unreported
    this.#state(key).unreported = []
    return { expired }
  }

  /** A balance as a counter: `used` 0, its balance as `limit`, never resets. Twin of `BalanceSlots.view`. */
  view(key: string): CounterSnapshot & { readonly placement: number; readonly limit: number } {
    const state = this.rows.get(key)?.state
    const { reserved = 0, balance = 0 } = state?.kind === 'balance' ? state : {}
    return { used: 0, reserved, windowStart: 0, resetAt: neverResets, limit: balance, placement: 0 }
  }

  /** A balance counter's snapshot as a call gives it back: its balance as limit, with the expiries not yet told. */
  told(key: string, snapshot: CounterSnapshot): CounterSnapshot {
    return { ...snapshot, limit: this.view(key).limit, ...this.#takeExpired(key) }
  }

  hold(key: string, amount: number): void {
    this.#state(key).reserved += amount
  }

  /** Settles a lease on a balance by its hold's fate. Twin of `BalanceSlots.settle`. */
  settle(key: string, fate: HoldFate | undefined, held: number, amount: number, lease: LeaseOf): ChargeOutcome {
    const state = this.#state(key)
    if (fate === 'holding') state.reserved -= held
    const balanceBefore = state.balance
    const unpaidThen = state.unpaid?.[lease.leaseId] ?? 0
    if (state.unpaid) delete state.unpaid[lease.leaseId]
    const { draw, refund } = creditSettleChange(fate, held, amount, unpaidThen)
    const unpaid = draw > 0 ? this.#draw(key, draw, lease) : 0
    if (refund > 0) {
      this.#setGrants(key, refundCredits(this.#grants.get(key)!, refund, lease.leaseId, this.now).grants)
      this.#append(key, refundRow(refund, lease, this.now))
    }
    return { usedBefore: 0, usedAfter: 0, balanceBefore, balanceAfter: state.balance, ...(unpaid > 0 ? { unpaid } : {}), ...this.#takeExpired(key) }
  }

  /** Ends the hold of a lease that expired unsettled: returned, and charged like a settle when `charge`. Twin of `BalanceSlots.expireHold`. */
  expireHold(key: string, held: number, charge: boolean, lease: LeaseOf): void {
    const state = this.#state(key)
    state.reserved -= held
    if (!charge || held === 0) return
    const unpaid = this.#draw(key, held, lease)
    if (unpaid > 0) state.unpaid = { ...state.unpaid, [lease.leaseId]: unpaid }
  }

  #draw(key: string, amount: number, lease: LeaseOf): number {
    const draw = drawCredits(this.#grants.get(key)!, amount)
    this.#setGrants(key, draw.grants)
    const row = chargeRow(draw, lease, this.now)
    if (row) this.#append(key, row)
    return draw.unpaid
  }

  /** Adds or corrects credits once per key, forever. Twin of `BalanceSlots.write`. */
  async write(key: string, request: CreditWrite): Promise<CreditWriteOutcome> {
    checkCreditWrite(request)
    this.#state(key)
    const fingerprint = creditWriteFingerprint(request)
    const { rows } = await this.client.query(`SELECT fingerprint FROM ${this.tables.creditKeys} WHERE balance = $1 AND key = $2`, [key, request.key])
    const applied = creditWriteApplies(rows[0]?.fingerprint as string | undefined, fingerprint, request.key)
    if (applied) {
      checkNewTopUpExpiry(request)
      const { grants, row } = applyCreditWrite(this.#grants.get(key)!, request)
      this.#setGrants(key, grants)
      this.#append(key, row)
      this.batch.add(`INSERT INTO ${this.tables.creditKeys} (balance, key, fingerprint) VALUES ($1, $2, $3)`, [key, request.key, fingerprint])
    }
    return { applied, balance: this.state(key) }
  }

  /** A balance as `readBalances` gives it. */
  state(key: string): BalanceState {
    const state = this.rows.get(key)?.state
    if (state?.kind !== 'balance') return { balance: 0, reserved: 0, grants: [] }
    const grants = this.#grants.get(key)!.filter((grant) => grant.remaining > 0)
    return { balance: balanceOf(grants), reserved: state.reserved, grants, ...this.#takeExpired(key) }
  }

  /** Adds to the batch: the changed grants (those gone deleted), and the new ledger rows (the ledger only ever gets INSERTs). */
  save(): void {
    const t = this.tables
    if (this.#changed.size > 0) {
      const keys = [...this.#changed]
      const grants = keys.flatMap((key) => this.#grants.get(key)!.map((grant) => ({ key, grant })))
      const balances = grants.map(({ key }) => key)
      const names = grants.map(({ grant }) => grant.key)
      this.batch.add(
        `DELETE FROM ${t.grants} g WHERE g.balance = ANY($1)
         AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS kept(balance, key) WHERE kept.balance = g.balance AND kept.key = g.key)`,
        [keys, balances, names],
      )
      this.batch.add(
        `INSERT INTO ${t.grants} (balance, key, amount, remaining, priority, expires_at, granted_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::bigint[], $7::bigint[])
         ON CONFLICT (balance, key) DO UPDATE SET amount = EXCLUDED.amount, remaining = EXCLUDED.remaining`,
        [
          balances,
          names,
          grants.map(({ grant }) => grant.amount),
          grants.map(({ grant }) => grant.remaining),
          grants.map(({ grant }) => grant.priority),
          grants.map(({ grant }) => grant.expiresAt ?? null),
          grants.map(({ grant }) => grant.grantedAt),
        ],
      )
    }
    if (this.#appended.length === 0) return
    const rows = this.#appended
    this.batch.add(
      `INSERT INTO ${t.ledger} (balance, seq, amount, balance_after, entry) SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::jsonb[])`,
      [
        rows.map(({ key }) => key),
        rows.map(({ row }) => row.seq),
        rows.map(({ row }) => row.amount),
        rows.map(({ row }) => row.balanceAfter),
        rows.map(({ row }) => JSON.stringify(row)),
      ],
    )
  }
}

/** A balance's ledger rows after `after`, oldest first (no lock: rows are only ever appended). */
export async function readLedger(pool: PgPoolLike, tables: Tables, key: string, request: Pick<LedgerRead, 'after' | 'limit'>): Promise<LedgerEntry[]> {
  const client = await pool.connect()
  try {
    const { rows } = await client.query(`SELECT entry FROM ${tables.ledger} WHERE balance = $1 AND seq > $2 ORDER BY seq LIMIT $3`, [
      key,
      Math.max(0, request.after ?? 0),
      Math.max(0, request.limit),
    ])
    return rows.map((row) => row.entry as LedgerEntry)
  } finally {
    client.release()
  }
}
