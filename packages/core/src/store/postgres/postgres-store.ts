import { expiredForgotten, settleChange } from '../algebra/index.js'
import type {
  ChargeOutcome,
  CounterSnapshot,
  ExtendRequest,
  InspectLeaseRequest,
  QuotaStore,
  ReadRequest,
  ReserveResult,
  SettleRequest,
  StoredLease,
  StoreReserveRequest,
} from '../quota-store.js'
import type { StoreCredits } from '../credit-protocol.js'
import type { StoreAdmin } from '../store-admin.js'
import { readLedger } from './balances.js'
import { applyAt, openedState, viewOf } from './counter-state.js'
import { type LeaseRow, type LockedCounters, leaseOf, withLockedCounters } from './locked-counters.js'
import { inTransaction, type PgClientLike, type PgPoolLike } from './pg-client.js'
import { PostgresAdmin } from './postgres-admin.js'
import { amountsOf, holdAll, limitInForce, limitsOf, overridesOf, refusalsOf, snapshotOf, viewsOf } from './reserve.js'
import { noteRefusals } from './refusal-notes.js'
import { balanceKey, counterKey, leaseKey } from './row-keys.js'
import { migrationStatements, type PostgresTableOptions, type Tables, tablesOf } from './schema.js'

export interface PostgresStoreOptions extends PostgresTableOptions {
  /** A `pg` (node-postgres) `Pool`: `new Pool({ connectionString })`. Each operation takes one client for one transaction. */
  readonly pool: PgPoolLike
}

const nothingCharged: ChargeOutcome = Object.freeze({ usedBefore: 0, usedAfter: 0 })

/**
 * Counters, leases, overrides and the audit log in Postgres, shared by every process on the same
 * database: a durable store (what a restart or a failover must not lose — credits a customer paid
 * for). Each operation is one transaction that locks the counter rows it touches with
 * `SELECT … FOR UPDATE`, always in key order (so concurrent processes queue, never deadlock or lose
 * an update), expires the due leases on them, and computes with the same counter algebra as
 * MemoryStore (`store/algebra`).
 *
 * Uses `pg` (node-postgres), an optional peer dependency: the most used Postgres driver for Node,
 * pooled, and the one these apps already have; its pool gives each transaction its own connection.
 * Create the tables once with `await store.migrate()` (idempotent; Postgres 14 or later).
 *
 * @example
 * import pg from 'pg'
 * import { PostgresStore } from '@tokenquota/core/postgres'
 * const store = new PostgresStore({ pool: new pg.Pool({ connectionString: process.env.DATABASE_URL }) })
 * await store.migrate()
 * const quota = createTokenQuota({ policies, store })
 */
export class PostgresStore implements QuotaStore {
  readonly #pool: PgPoolLike
  readonly #tables: Tables
  /** Overrides, resets, last refusals and the audit log, in the same database. */
  readonly admin: StoreAdmin
  /** Credit grants and the append-only ledger of balance counters, in the same transactions as the holds and charges. */
  readonly credits: StoreCredits

  constructor(options: PostgresStoreOptions) {
    this.#pool = options.pool
    this.#tables = tablesOf(options)
    this.admin = new PostgresAdmin(options.pool, this.#tables)
    this.credits = {
      writeCredits: (request) => {
        const key = balanceKey(request, request.shard)
        return this.#withCounters([key], request.now, true, (locked) => locked.balances.write(key, request))
      },
      readBalances: ({ now, shard, balances }) => {
        const keys = balances.map((ref) => balanceKey(ref, ref.shard ?? shard))
        return this.#withCounters(keys, now, false, async (locked) => keys.map((key) => locked.balances.state(key)))
      },
      readLedger: (request) => readLedger(this.#pool, this.#tables, balanceKey(request, request.shard), request),
    }
  }

  /** Creates the schema and tables if missing (safe to run from several processes at once, and again). */
  async migrate(): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('tokenquota migrate'))`)
      await client.query(migrationStatements(this.#tables).join(';\n'))
    })
  }

  #withCounters<T>(keys: readonly string[], now: number, create: boolean, body: (locked: LockedCounters) => Promise<T>): Promise<T> {
    return withLockedCounters(this.#pool, this.#tables, { keys, now, create }, body)
  }

  /** The lease row, unless unknown or forgotten (expired an hour ago). */
  async #lease(client: PgClientLike, id: string, now: number, lock = false): Promise<LeaseRow | undefined> {
    const { rows } = await client.query(`SELECT * FROM ${this.#tables.leases} WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id])
    const lease = rows[0] ? leaseOf(rows[0]) : undefined
    return lease && (lease.state === 'holding' || !expiredForgotten(lease.expiresAt, now)) ? lease : undefined
  }

  /** The counters a lease holds on (its row never changes them), read before locking them. */
  async #leaseKeys(id: string, now: number): Promise<string[] | undefined> {
    const client = await this.#pool.connect()
    try {
      const lease = await this.#lease(client, id, now)
      return lease?.holds.flatMap((hold) => (hold ? [hold.key] : []))
    } finally {
      client.release()
    }
  }

  async reserve(request: StoreReserveRequest): Promise<ReserveResult> {
    const { now, shard } = request
    const keys = request.counters.map((counter) => counterKey(counter, shard))
    const id = leaseKey(request.leaseId, shard)
    return this.#withCounters(keys, now, true, async (locked) => {
      const first = await this.#lease(locked.client, id, now)
      if (first) return first.answer
      const views = viewsOf(request, locked, keys)
      const limits = limitsOf(request, views, await overridesOf(locked, request.counters, shard))
      const inputs = { keys, views, limits }
      const amounts = amountsOf(request.counters, inputs)
      const refusals = refusalsOf(request, locked, inputs, amounts)
      if (refusals) {
        const notes = refusals.map(({ index, snapshot }) => {
          const { counter, identifier } = request.counters[index]!
          return {
            counter,
            identifier,
            requested: amounts[index]!,
            limit: limits[index]!,
            used: snapshot.used,
            reserved: snapshot.reserved,
            windowStart: snapshot.windowStart,
          }
        })
        await noteRefusals(locked.client, this.#tables, shard, now, notes)
        return { ok: false, refusals }
      }
      const { answer, holds } = holdAll(request, locked, inputs, amounts)
      if (holds.some((hold) => hold !== null)) await this.#insertLease(locked, id, request, answer, holds)
      return answer
    })
  }

  async #insertLease(locked: LockedCounters, id: string, request: StoreReserveRequest, answer: object, holds: unknown[]): Promise<void> {
    const t = this.#tables
    await locked.client.query(`DELETE FROM ${t.leases} WHERE id = $1`, [id]) // a forgotten one
    await locked.client.query(
      `INSERT INTO ${t.leases} (id, lease, state, expires_at, release, record, answer, holds) VALUES ($1, $2, 'holding', $3, $4, $5, $6, $7)`,
      [id, request.leaseId, request.expiresAt, request.onExpiry === 'release', request.record ?? null, JSON.stringify(answer), JSON.stringify(holds)],
    )
    const held = [...new Set(holds.flatMap((hold) => (hold ? [(hold as { key: string }).key] : [])))]
    await locked.client.query(`INSERT INTO ${t.leaseHolds} (counter_key, lease_id, expires_at) SELECT unnest($1::text[]), $2, $3`, [
      held,
      id,
      request.expiresAt,
    ])
  }

  async settle(request: SettleRequest): Promise<readonly ChargeOutcome[]> {
    const { now, shard, charges } = request
    const id = leaseKey(request.leaseId, shard)
    const keys = charges.map((charge) => counterKey(charge, shard))
    const held = await this.#leaseKeys(id, now)
    if (!held) return charges.map(() => nothingCharged) // unknown, or settled before: nothing again
    return this.#withCounters([...keys, ...held], now, true, async (locked) => {
      const lease = await this.#lease(locked.client, id, now, true)
      if (!lease || lease.state === 'settled') return charges.map(() => nothingCharged)
      const fate = lease.state
      const outcomes = charges.map((charge, index): ChargeOutcome => {
        const hold = lease.holds[index]
        if (charge.window.kind === 'balance') {
          const held = hold && fate !== 'released' ? hold.amount : 0
          return locked.balances.settle(hold?.key ?? keys[index]!, fate, held, charge.amount, { leaseId: lease.leaseId, record: lease.record })
        }
        const inPlace = hold && fate !== 'released'
        const change = settleChange(inPlace ? fate : 'released', inPlace ? hold.amount : 0, charge.amount)
        const key = inPlace ? hold.key : keys[index]!
        const placement = inPlace ? hold.placement : charge.placement
        const before = locked.change(key, (row) => {
          if (row.state === undefined && charge.window.kind !== 'flexi')
            row.state = openedState(undefined, charge.window, viewOf(undefined, charge.window, now), now)
          return applyAt(row.state, placement, change, now)
        })
        if (before === undefined || charge.reportUsed === false) return nothingCharged
        return { usedBefore: before, usedAfter: before + change.used }
      })
      if (fate === 'holding') {
        // Holds on counters the settle does not name are returned too.
        for (const hold of lease.holds.slice(charges.length)) {
          if (!hold) continue
          if (locked.rows.get(hold.key)?.state?.kind === 'balance') locked.balances.expireHold(hold.key, hold.amount, false, lease)
          else locked.change(hold.key, (row) => applyAt(row.state, hold.placement, { used: 0, reserved: -hold.amount }, now))
        }
        await locked.client.query(`DELETE FROM ${this.#tables.leaseHolds} WHERE lease_id = $1`, [id])
        await locked.client.query(`DELETE FROM ${this.#tables.leases} WHERE id = $1`, [id])
      } else await locked.client.query(`UPDATE ${this.#tables.leases} SET state = 'settled' WHERE id = $1`, [id])
      return outcomes
    })
  }

  async extend(request: ExtendRequest): Promise<boolean> {
    const id = leaseKey(request.leaseId, request.shard)
    const held = await this.#leaseKeys(id, request.now)
    if (!held) return false
    return this.#withCounters(held, request.now, false, async (locked) => {
      const lease = await this.#lease(locked.client, id, request.now, true)
      if (lease?.state !== 'holding') return false
      await locked.client.query(`UPDATE ${this.#tables.leases} SET expires_at = $2 WHERE id = $1`, [id, request.expiresAt])
      await locked.client.query(`UPDATE ${this.#tables.leaseHolds} SET expires_at = $2 WHERE lease_id = $1`, [id, request.expiresAt])
      return true
    })
  }

  async inspectLease(request: InspectLeaseRequest): Promise<StoredLease | undefined> {
    const id = leaseKey(request.leaseId, request.shard)
    const held = await this.#leaseKeys(id, request.now)
    if (!held) return undefined
    return this.#withCounters(held, request.now, false, async (locked) => {
      const lease = await this.#lease(locked.client, id, request.now)
      if (!lease || lease.state === 'settled') return undefined
      return { state: lease.state, expiresAt: lease.expiresAt, record: lease.record, held: lease.answer.held }
    })
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    const { now, shard, counters } = request
    const keys = counters.map((counter) => counterKey(counter, shard))
    return this.#withCounters(keys, now, false, async (locked) => {
      const overrides = await overridesOf(locked, counters, shard)
      return counters.map((counter, index) => {
        const key = keys[index]!
        const { placement: _, ...snapshot } =
          counter.window.kind === 'balance' ? locked.balances.view(key) : viewOf(locked.rows.get(key)!.state, counter.window, now)
        return snapshotOf(locked, key, counter, snapshot, limitInForce(counter, overrides, shard, now))
      })
    })
  }
}
