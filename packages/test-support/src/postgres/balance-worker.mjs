// One app process for the Postgres multi-process tests, serving their scenarios (`serveScenarios`)
// on one balance, alice's 'credits', in tables of the scenario's own (`tablePrefix`), on the
// process's one pool, as an app has (a pool per scenario opened 8 more connections, each a server
// process). Uses the built package, as an app would.
// mode 'store': `concurrency` callers reserving `reserve` credits each (the store protocol, as the
// engine sends it), "calling the model", and settling what they used (at most what they reserved),
// until the balance refuses them 5 times in a row; an event per reservation and per settle (so the
// test can kill the process mid-run, holding leases); answers what each lease settled.
// mode 'engine': `calls` concurrent reservations of exactly 25 credits through the engine (exact
// estimates), each admitted one committed at 25; answers how many were admitted and the refusals.
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { PostgresStore } from '@tokenquota/core/postgres'
import pg from 'pg'
import { serveScenarios } from '../serve-scenarios.mjs'

const { DATABASE_URL } = process.env
const balance = { counter: 'credits', identifier: '=alice', window: { kind: 'balance' } }
let next = 0

function storeRun(store, { concurrency, reserve, leaseTtlMs }, emit) {
  const settled = []
  async function caller() {
    let refusals = 0
    while (refusals < 5) {
      const leaseId = `${process.pid}-${++next}`
      const now = Date.now()
      const expiresAt = now + leaseTtlMs
      const result = await store.reserve({ leaseId, now, expiresAt, counters: [{ ...balance, amount: reserve, hold: true }], record: `{"pid":${process.pid}}` })
      if (!result.ok) {
        refusals += 1
        await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 5))
        continue
      }
      refusals = 0
      emit(`reserved ${leaseId}`)
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
      const used = 1 + Math.floor(Math.random() * reserve)
      const [outcome] = await store.settle({ leaseId, now: Date.now(), expiresAt, charges: [{ ...balance, placement: 0, held: reserve, amount: used }] })
      settled.push({ leaseId, used, unpaid: outcome.unpaid ?? 0 })
      emit(`settled ${leaseId}`)
    }
  }
  return async () => {
    await Promise.all(Array.from({ length: concurrency }, caller))
    return { settled }
  }
}

function engineRun(store, { calls }) {
  const quota = createTokenQuota({ policies: [{ name: 'credits', type: 'balance', identifier: 'user' }], store })
  return async () => {
    const results = await Promise.allSettled(Array.from({ length: calls }, () => quota.reserve({ user: 'alice' }, { estimate: 25 })))
    const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))
    for (const reason of refusals) if (!TokenQuotaExceededError.isInstance(reason)) throw reason
    const leases = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    await Promise.all(leases.map((lease) => lease.commit({ input: 20, output: 5 })))
    await quota.close()
    return { admitted: leases.length, refused: refusals.map((reason) => reason.code) }
  }
}

// Its connections kept from one scenario to the next (no idle timeout).
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8, idleTimeoutMillis: 0 })
pool.on('error', () => undefined) // an idle client whose server went away: the next query reconnects

async function prepare(scenario, emit) {
  await pool.query('SELECT 1')
  const store = new PostgresStore({ pool, tablePrefix: scenario.tablePrefix })
  return scenario.mode === 'engine' ? engineRun(store, scenario) : storeRun(store, scenario, emit)
}

await serveScenarios(prepare)
await pool.end()
