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
import { type LeaseHoldOn, type LeaseRow, type LockedCounters, type LockRequest, withLockedCounters } from './locked-counters.js'
import { inTransaction, type PgPoolLike } from './pg-client.js'
import { PostgresAdmin } from './postgres-admin.js'
import { amountsOf, holdAll, limitInForce, limitsOf, refusalsOf, snapshotOf, targetsOf, viewsOf } from './reserve.js'
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
        return this.#withCounters({ keys: [key], now: request.now, create: true }, (locked) => locked.balances.write(key, request))
      },
      readBalances: ({ now, shard, balances }) => {
        const keys = balances.map((ref) => balanceKey(ref, ref.shard ?? shard))
        return this.#withCounters({ keys, now, create: false }, async (locked) => keys.map((key) => locked.balances.state(key)))
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

  #withCounters<T>(request: LockRequest, body: (locked: LockedCounters) => Promise<T>): Promise<T> {
    return withLockedCounters(this.#pool, this.#tables, request, body)
  }

  async reserve(request: StoreReserveRequest): Promise<ReserveResult> {
    const { now, shard } = request
    const keys = request.counters.map((counter) => counterKey(counter, shard))
    const id = leaseKey(request.leaseId, shard)
    return this.#withCounters({ keys, now, create: true, leaseId: id, targets: targetsOf(request.counters, shard) }, async (locked) => {
      const first = liveLease(locked)
      if (first) return first.answer
      const views = viewsOf(request, locked, keys)
      const limits = limitsOf(request, views, locked.overrides)
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
      if (holds.some((hold) => hold !== null)) this.#insertLease(locked, id, request, answer, holds)
      return answer
    })
  }

  /** Adds the lease (over a forgotten one of the same id) and what it holds on to the batch. */
  #insertLease(locked: LockedCounters, id: string, request: StoreReserveRequest, answer: object, holds: Array<LeaseHoldOn | null>): void {
    const t = this.#tables
    const held = [...new Set(holds.flatMap((hold) => (hold ? [hold.key] : [])))]
    locked.batch.add(
      `INSERT INTO ${t.leases} (id, lease, state, expires_at, release, record, answer, holds) VALUES ($1, $2, 'holding', $3, $4, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET lease = EXCLUDED.lease, state = EXCLUDED.state, expires_at = EXCLUDED.expires_at, release = EXCLUDED.release,
         record = EXCLUDED.record, answer = EXCLUDED.answer, holds = EXCLUDED.holds`,
      [id, request.leaseId, request.expiresAt, request.onExpiry === 'release', request.record ?? null, JSON.stringify(answer), JSON.stringify(holds)],
    )
    locked.batch.add(`INSERT INTO ${t.leaseHolds} (counter_key, lease_id, expires_at) SELECT unnest($1::text[]), $2, $3`, [held, id, request.expiresAt])
  }

  async settle(request: SettleRequest): Promise<readonly ChargeOutcome[]> {
    const { now, shard, charges } = request
    const id = leaseKey(request.leaseId, shard)
    const keys = charges.map((charge) => counterKey(charge, shard))
    return this.#withCounters({ keys, now, create: true, leaseId: id }, async (locked) => {
      const lease = liveLease(locked)
      // Unknown, or settled before: nothing again.
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
        locked.batch.add(`DELETE FROM ${this.#tables.leaseHolds} WHERE lease_id = $1`, [id])
        locked.batch.add(`DELETE FROM ${this.#tables.leases} WHERE id = $1`, [id])
      } else locked.batch.add(`UPDATE ${this.#tables.leases} SET state = 'settled' WHERE id = $1`, [id])
      return outcomes
    })
  }

  async extend(request: ExtendRequest): Promise<boolean> {
    const id = leaseKey(request.leaseId, request.shard)
    return this.#withCounters({ keys: [], now: request.now, create: false, leaseId: id }, async (locked) => {
      if (liveLease(locked)?.state !== 'holding') return false
      locked.batch.add(`UPDATE ${this.#tables.leases} SET expires_at = $2 WHERE id = $1`, [id, request.expiresAt])
      locked.batch.add(`UPDATE ${this.#tables.leaseHolds} SET expires_at = $2 WHERE lease_id = $1`, [id, request.expiresAt])
      return true
    })
  }

  async inspectLease(request: InspectLeaseRequest): Promise<StoredLease | undefined> {
    const id = leaseKey(request.leaseId, request.shard)
    return this.#withCounters({ keys: [], now: request.now, create: false, leaseId: id }, async (locked) => {
      const lease = liveLease(locked)
      if (!lease || lease.state === 'settled') return undefined
      return { state: lease.state, expiresAt: lease.expiresAt, record: lease.record, held: lease.answer.held }
    })
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    const { now, shard, counters } = request
    const keys = counters.map((counter) => counterKey(counter, shard))
    return this.#withCounters({ keys, now, create: false, targets: targetsOf(counters, shard) }, async (locked) => {
      const { overrides } = locked
      return counters.map((counter, index) => {
        const key = keys[index]!
        const { placement: _, ...snapshot } =
          counter.window.kind === 'balance' ? locked.balances.view(key) : viewOf(locked.rows.get(key)!.state, counter.window, now)
        return snapshotOf(locked, key, counter, snapshot, limitInForce(counter, overrides, shard, now))
      })
    })
  }
}

/** The lease the transaction asked for, unless unknown or forgotten (expired an hour ago). */
function liveLease(locked: LockedCounters): LeaseRow | undefined {
  const { lease, now } = locked
  return lease && (lease.state === 'holding' || !expiredForgotten(lease.expiresAt, now)) ? lease : undefined
}
