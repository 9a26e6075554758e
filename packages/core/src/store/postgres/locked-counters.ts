import type { ReserveResult } from '../quota-store.js'
import { expiryChange, isExpired } from '../algebra/index.js'
import { LockedBalances } from './balances.js'
import { applyAt, type CounterRow, loadState, type StoredState, storedState } from './counter-state.js'
import { inTransaction, type PgClientLike, type PgPoolLike, RunAgain } from './pg-client.js'
import { lockOrder } from './row-keys.js'
import type { Tables } from './schema.js'

/** What a lease holds on one counter (`undefined` where it holds nothing), as kept in its row. */
export interface LeaseHoldOn {
  readonly key: string
  readonly placement: number
  readonly amount: number
}

/** A lease row. */
export interface LeaseRow {
  readonly id: string
  /** The lease id as the engine named it (`id` is the row's key, with the shard). */
  readonly leaseId: string
  readonly state: 'holding' | 'charged' | 'released' | 'settled'
  readonly expiresAt: number
  readonly release: boolean
  readonly record: string | undefined
  readonly answer: Extract<ReserveResult, { ok: true }>
  readonly holds: ReadonlyArray<LeaseHoldOn | null>
}

export function leaseOf(row: Record<string, unknown>): LeaseRow {
  return {
    id: row.id as string,
    leaseId: row.lease as string,
    state: row.state as LeaseRow['state'],
    expiresAt: Number(row.expires_at),
    release: row.release as boolean,
    record: (row.record as string | null) ?? undefined,
    answer: row.answer as LeaseRow['answer'],
    holds: row.holds as LeaseRow['holds'],
  }
}

/**
 * The counter rows one transaction locked (`SELECT … FOR UPDATE`, in key order), with every lease
 * due at `now` on them expired first: charged where it held (or returned), like the Lua scripts'
 * `expire_holds`. A due lease that also holds on a counter outside the set makes the transaction
 * run again with that counter added (`RunAgain`): a lease changes only under the locks of all its
 * counters, so no two processes expire it, or settle and expire it, at once.
 */
export class LockedCounters {
  readonly rows = new Map<string, CounterRow>()
  /** The grants and ledgers of the locked balance rows. */
  readonly balances: LockedBalances

  private constructor(
    readonly client: PgClientLike,
    readonly tables: Tables,
    readonly now: number,
  ) {
    this.balances = new LockedBalances(client, tables, this.rows, now)
  }

  /** Locks the rows of `keys` (creating the missing ones when `create`), then expires their due leases. */
  static async lock(client: PgClientLike, tables: Tables, keys: Iterable<string>, now: number, create: boolean): Promise<LockedCounters> {
    const locked = new LockedCounters(client, tables, now)
    const order = lockOrder(keys)
    if (create) await client.query(`INSERT INTO ${tables.counters} (key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [order])
    const { rows } = await client.query(`SELECT key, state FROM ${tables.counters} WHERE key = ANY($1) ORDER BY key COLLATE "C" FOR UPDATE`, [order])
    for (const key of order) locked.rows.set(key, { state: undefined, dirty: false })
    for (const row of rows) locked.rows.get(row.key as string)!.state = loadState(row.state as StoredState | null, now)
    await locked.balances.load()
    await locked.#expireDue()
    return locked
  }

  async #expireDue(): Promise<void> {
    const { rows } = await this.client.query(
      `SELECT DISTINCT l.* FROM ${this.tables.leaseHolds} h JOIN ${this.tables.leases} l ON l.id = h.lease_id
       WHERE h.counter_key = ANY($1) AND h.expires_at <= $2 ORDER BY l.id`,
      [[...this.rows.keys()], this.now],
    )
    if (rows.length === 0) return
    const leases = rows.map(leaseOf).filter((lease) => lease.state === 'holding' && isExpired(lease.expiresAt, this.now))
    const missing = leases.flatMap((lease) => lease.holds.flatMap((hold) => (hold && !this.rows.has(hold.key) ? [hold.key] : [])))
    if (missing.length > 0) throw new MoreCounters(missing)
    for (const lease of leases) {
      const charge = !lease.release
      for (const hold of lease.holds) {
        if (!hold) continue
        if (this.rows.get(hold.key)?.state?.kind === 'balance')
          this.balances.expireHold(hold.key, hold.amount, charge, { leaseId: lease.leaseId, record: lease.record })
        else this.change(hold.key, (row) => applyAt(row.state, hold.placement, expiryChange(hold.amount, charge), this.now))
      }
    }
    const ids = leases.map((lease) => lease.id)
    await this.client.query(`DELETE FROM ${this.tables.leaseHolds} WHERE lease_id = ANY($1)`, [ids])
    await this.client.query(`UPDATE ${this.tables.leases} SET state = CASE WHEN release THEN 'released' ELSE 'charged' END WHERE id = ANY($1)`, [ids])
  }

  /** Changes a locked row's state (marking it to be written back). */
  change<T>(key: string, apply: (row: CounterRow) => T): T {
    const row = this.rows.get(key)
    if (!row) throw new Error(`counter row ${key} is not locked`)
    row.dirty = true
    return apply(row)
  }

  /** Writes back every changed row. */
  async save(): Promise<void> {
    await this.balances.save()
    const changed = [...this.rows].filter(([, row]) => row.dirty)
    if (changed.length === 0) return
    await this.client.query(
      `INSERT INTO ${this.tables.counters} (key, state) SELECT * FROM unnest($1::text[], $2::jsonb[])
       ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state`,
      [changed.map(([key]) => key), changed.map(([, row]) => JSON.stringify(storedState(row.state)))],
    )
  }
}

/** A due lease holds on counters the transaction did not lock: run it again with them. */
export class MoreCounters extends RunAgain {
  constructor(readonly keys: readonly string[]) {
    super('a due lease holds on more counters')
  }
}

/**
 * One transaction on the counter rows of `keys`, locked, with their due leases expired; changed
 * rows are written back before COMMIT. Runs again with more rows when a due lease needs them.
 */
export function withLockedCounters<T>(
  pool: PgPoolLike,
  tables: Tables,
  request: { readonly keys: readonly string[]; readonly now: number; readonly create: boolean },
  body: (locked: LockedCounters) => Promise<T>,
): Promise<T> {
  const more = new Set<string>()
  return inTransaction(pool, async (client) => {
    let locked: LockedCounters
    try {
      locked = await LockedCounters.lock(client, tables, [...request.keys, ...more], request.now, request.create)
    } catch (error) {
      if (error instanceof MoreCounters) for (const key of error.keys) more.add(key)
      throw error
    }
    const result = await body(locked)
    await locked.save()
    return result
  })
}
