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

let pool: pg.Pool
let prefixes = 0

/** A store on its own tables (a fresh prefix), migrated. */
async function freshStore(): Promise<PostgresStore> {
  const store = new PostgresStore({ pool, tablePrefix: `t${++prefixes}_` })
  await store.migrate()
  return store
}

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await postgresDatabase('store'), max: 20 })
})

afterAll(async () => {
  await pool.end()
})

describeQuotaStoreContract('PostgresStore', { createStore: freshStore })
describeStoreAdminContract('PostgresStore', { createStore: freshStore })
describeStoreCreditsContract('PostgresStore', { createStore: freshStore })
describeLateSettleAfterUnpaidExpiry('PostgresStore', freshStore)
describeSpillBeyondEstimate('PostgresStore', freshStore)

describe('PostgresStore under the engine', () => {
  it('has the same window semantics as MemoryStore (the reference-model property, on Postgres)', async () => {
    await checkAgainstReferenceModel({ createStore: freshStore, numRuns: 40 })
  }, 120_000)
})

describe('PostgresStore ledger', () => {
  it('is append-only: an UPDATE, DELETE or TRUNCATE of a ledger row fails, whoever sends it', async () => {
    const store = await freshStore()
    const balance = { counter: 'credits', identifier: '=alice' }
    await store.credits.writeCredits({ ...balance, now: Date.UTC(2026, 0, 1), key: 'pay-1', change: { kind: 'topup', amount: 100 } })
    const ledger = `t${prefixes}_ledger`
    for (const statement of [`UPDATE ${ledger} SET amount = 1000`, `DELETE FROM ${ledger}`, `TRUNCATE ${ledger}`]) {
      await expect(pool.query(statement)).rejects.toThrow(/append-only/)
    }
    expect(await store.credits.readLedger({ ...balance, limit: 10 })).toMatchObject([{ seq: 1, kind: 'topup', amount: 100, balanceAfter: 100 }])
  })
})
