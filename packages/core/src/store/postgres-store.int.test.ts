import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkAgainstReferenceModel } from '@tokenquota/test-support/reference-model'
import { postgresDatabase } from '@tokenquota/test-support/postgres'
import { describeQuotaStoreContract } from '../testing/store-contract.js'
import { describeStoreAdminContract } from '../testing/store-admin-contract.js'
import { describeStoreCreditsContract } from '../testing/store-contract-credits.js'
import { describeLateSettleAfterUnpaidExpiry } from '../testing/credit-late-settle-contract.js'
import { describeSpillBeyondEstimate } from '../testing/credit-spill-contract.js'
import { PostgresStore } from './postgres/postgres-store.js'
import type { QuotaStore } from './quota-store.js'

let pool: pg.Pool
let prefixes = 0
// Table sets (prefixes) of stores whose contract test is over, emptied for the next test: a
// migration (ten tables, their indexes and TOAST tables created) costs the server far more than
// deleting the few rows a test wrote.
const emptied: string[] = []
const prefixOf = new WeakMap<PostgresStore, string>()

/** A store on tables of its own, empty: an emptied set, or a fresh prefix migrated. */
async function freshStore(): Promise<PostgresStore> {
  const reused = emptied.pop()
  const tablePrefix = reused ?? `t${++prefixes}_`
  const store = new PostgresStore({ pool, tablePrefix })
  if (reused === undefined) await store.migrate()
  prefixOf.set(store, tablePrefix)
  return store
}

/** The tables and sequences of a migrated store, without their prefix: the same for every prefix, read once. */
let schema: Promise<{ tables: string[]; sequences: string[] }> | undefined
function schemaOf(prefix: string) {
  schema ??= (async () => {
    const names = async (sql: string) => (await pool.query(sql, [prefix])).rows.map(({ name }) => (name as string).slice(prefix.length))
    return {
      tables: await names(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND starts_with(tablename, $1)`),
      sequences: await names(`SELECT sequencename AS name FROM pg_sequences WHERE schemaname = 'public' AND starts_with(sequencename, $1)`),
    }
  })()
  return schema
}

/**
 * Empties a store's tables once its test is over, as migrate() left them: every row deleted (the
 * ledger's append-only trigger does not fire in a replica session) and every sequence restarted, in
 * one round trip.
 */
async function emptyStore(store: PostgresStore): Promise<void> {
  const prefix = prefixOf.get(store)!
  const { tables, sequences } = await schemaOf(prefix)
  await pool.query(
    [
      'BEGIN',
      'SET LOCAL session_replication_role = replica',
      ...tables.map((name) => `DELETE FROM "${prefix}${name}"`),
      ...sequences.map((name) => `SELECT setval('"${prefix}${name}"', 1, false)`),
      'COMMIT',
    ].join(';\n'),
  )
  emptied.push(prefix)
}

const contract = { createStore: freshStore, disposeStore: (store: QuotaStore) => emptyStore(store as PostgresStore) }

// The reference model's runs come one after another, each done (awaited to its last step) before
// the next asks for its store: the next run empties the last one's tables and takes them.
let lastRun: PostgresStore | undefined
async function nextRunStore(): Promise<PostgresStore> {
  if (lastRun) await emptyStore(lastRun)
  lastRun = await freshStore()
  return lastRun
}

beforeAll(async () => {
  // Over the server's Unix socket: the store takes the app's pool, whatever its transport (the
  // multi-process and money tests connect over TCP). Eight connections, kept for the whole file: the
  // concurrent-reservation tests still queue up to eight transactions at a row lock (without the
  // lock, they fail: 50 admitted for 14, 70 for 60), and each connection is a server process that
  // builds its caches for every table set (20 of them cost the server 5.3 CPU-s, these 4.4).
  pool = new pg.Pool({ connectionString: await postgresDatabase('store', { socket: true }), max: 8, idleTimeoutMillis: 0 })
})

afterAll(async () => {
  await pool.end()
})

describeQuotaStoreContract('PostgresStore', contract)
describeStoreAdminContract('PostgresStore', contract)
describeStoreCreditsContract('PostgresStore', contract)
describeLateSettleAfterUnpaidExpiry('PostgresStore', freshStore)
describeSpillBeyondEstimate('PostgresStore', freshStore)

describe('PostgresStore under the engine', () => {
  // 20 random runs besides the fixed examples: the window arithmetic is the counter algebra's,
  // checked on MemoryStore by 500 runs (token-quota.property.test.ts); what is Postgres's own (state
  // to rows and back, transactions) every run goes through. Loading a rolling row without aging
  // its buckets fails here at the first run. 40 runs cost ~2 CPU-s more (server and worker).
  it('has the same window semantics as MemoryStore (the reference-model property, on Postgres)', async () => {
    await checkAgainstReferenceModel({ createStore: nextRunStore, numRuns: 20 })
  }, 120_000)
})

describe('PostgresStore ledger', () => {
  it('is append-only: an UPDATE, DELETE or TRUNCATE of a ledger row fails, whoever sends it', async () => {
    const store = await freshStore()
    const balance = { counter: 'credits', identifier: '=alice' }
    await store.credits.writeCredits({ ...balance, now: Date.UTC(2026, 0, 1), key: 'pay-1', change: { kind: 'topup', amount: 100 } })
    const ledger = `${prefixOf.get(store)}ledger`
    for (const statement of [`UPDATE ${ledger} SET amount = 1000`, `DELETE FROM ${ledger}`, `TRUNCATE ${ledger}`]) {
      await expect(pool.query(statement)).rejects.toThrow(/append-only/)
    }
    expect(await store.credits.readLedger({ ...balance, limit: 10 })).toMatchObject([{ seq: 1, kind: 'topup', amount: 100, balanceAfter: 100 }])
  })
})
