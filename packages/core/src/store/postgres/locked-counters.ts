import type { ReserveResult } from '../quota-store.js'
import { expiryChange, isExpired } from '../algebra/index.js'
import { LockedBalances } from './balances.js'
import type { TargetOverrides } from '../store-admin.js'
import { applyAt, type CounterRow, loadState, type StoredState, storedState } from './counter-state.js'
import { WriteBatch } from './write-batch.js'
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
  /** The writes sent with the rows before COMMIT. */
  readonly batch = new WriteBatch()
  /** The lease asked for (`LockRequest.leaseId`), as it is after the due leases expired; `undefined` when unknown. */
  lease: LeaseRow | undefined
  /** The overrides of the targets asked for (`LockRequest.targets`), by target key. */
  overrides = new Map<string, TargetOverrides>()

  private constructor(
    readonly client: PgClientLike,
    readonly tables: Tables,
    readonly now: number,
  ) {
    this.balances = new LockedBalances(client, tables, this.rows, now, this.batch)
  }

  /**
   * Locks the rows of `keys` in key order (creating the missing ones when `create`: the INSERT's
   * ON CONFLICT DO UPDATE locks the existing ones, in one statement), reads in a second what goes
   * with them, then expires their due leases.
   */
  static async lock(client: PgClientLike, tables: Tables, request: LockRequest): Promise<LockedCounters> {
    const locked = new LockedCounters(client, tables, request.now)
    const order = lockOrder(request.keys)
    const { rows } = await client.query(
      request.create
        ? `INSERT INTO ${tables.counters} AS c (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO UPDATE SET key = c.key RETURNING c.key, c.state`
        : `SELECT c.key, c.state FROM unnest($1::text[]) WITH ORDINALITY AS u(key, i) JOIN ${tables.counters} c ON c.key = u.key ORDER BY u.i FOR UPDATE OF c`,
      [order],
    )
    for (const key of order) locked.rows.set(key, { state: undefined, dirty: false })
    for (const row of rows) locked.rows.get(row.key as string)!.state = loadState(row.state as StoredState | null, request.now)
    const [context] = (await client.query(contextQuery(tables), [order, request.now, request.leaseId ?? null, request.targets ?? []])).rows
    locked.balances.load(context!.grants as Array<Record<string, unknown>>)
    locked.lease = context!.lease ? leaseOf(context!.lease as Record<string, unknown>) : undefined
    // The lease's counters are locked with it (a settle names them; an extend finds them here).
    const unlocked = locked.lease?.holds.flatMap((hold) => (hold && !locked.rows.has(hold.key) ? [hold.key] : [])) ?? []
    if (unlocked.length > 0) throw new MoreCounters(unlocked)
    for (const row of context!.overrides as Array<Record<string, unknown>>) locked.overrides.set(row.target as string, row.value as TargetOverrides)
    await locked.#expireDue((context!.due as Array<Record<string, unknown>>).map(leaseOf))
    return locked
  }

  async #expireDue(due: readonly LeaseRow[]): Promise<void> {
    const leases = due.filter((lease) => lease.state === 'holding' && isExpired(lease.expiresAt, this.now)).sort((a, b) => (a.id < b.id ? -1 : 1))
    if (leases.length === 0) return
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
      if (lease.id === this.lease?.id) this.lease = { ...lease, state: charge ? 'charged' : 'released' }
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

  /** Writes back every changed row, with the rest of the batch, in one statement. */
  async save(): Promise<void> {
    this.balances.save()
    const changed = [...this.rows].filter(([, row]) => row.dirty)
    if (changed.length > 0) {
      this.batch.add(
        `INSERT INTO ${this.tables.counters} (key, state) SELECT * FROM unnest($1::text[], $2::jsonb[]) ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state`,
        [changed.map(([key]) => key), changed.map(([, row]) => JSON.stringify(storedState(row.state)))],
      )
    }
    await this.batch.send(this.client)
  }
}

/** What a transaction locks, and what it reads with the rows. */
export interface LockRequest {
  readonly keys: readonly string[]
  readonly now: number
  /** Create the rows that do not exist yet (a reservation, a settle, a top-up); a read does not. */
  readonly create: boolean
  /** A lease row to read (its key). */
  readonly leaseId?: string
  /** Override targets to read (their keys). */
  readonly targets?: readonly string[]
}

/** What goes with the locked rows, read once they are locked (so it is what their last writer left): grants, due leases, the lease asked for, overrides. */
function contextQuery(t: Tables): string {
  return `SELECT
    (SELECT coalesce(json_agg(g), '[]') FROM ${t.grants} g WHERE g.balance = ANY($1)) AS grants,
    (SELECT coalesce(json_agg(l), '[]') FROM ${t.leases} l WHERE l.id IN (
       SELECT h.lease_id FROM ${t.leaseHolds} h WHERE h.counter_key = ANY($1) AND h.expires_at <= $2)) AS due,
    (SELECT row_to_json(l) FROM ${t.leases} l WHERE l.id = $3) AS lease,
    (SELECT coalesce(json_agg(o), '[]') FROM ${t.overrides} o WHERE o.target = ANY($4)) AS overrides`
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
export function withLockedCounters<T>(pool: PgPoolLike, tables: Tables, request: LockRequest, body: (locked: LockedCounters) => Promise<T>): Promise<T> {
  const more = new Set<string>()
  return inTransaction(pool, async (client) => {
    let locked: LockedCounters
    try {
      locked = await LockedCounters.lock(client, tables, { ...request, keys: [...request.keys, ...more] })
    } catch (error) {
      if (error instanceof MoreCounters) for (const key of error.keys) more.add(key)
      throw error
    }
    const result = await body(locked)
    await locked.save()
    return result
  })
}
