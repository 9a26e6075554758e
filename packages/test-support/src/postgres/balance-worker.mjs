// One app process for the Postgres multi-process test: CONCURRENCY callers reserving RESERVE
// credits each on one balance (the store protocol, as the engine sends it), "calling the model",
// and settling what they used (at most what they reserved), until the balance refuses them 5
// times in a row. Prints `ready`, waits for `go` on stdin (all processes start together), prints a
// line per reservation and per settle (so the test can kill it mid-run, holding leases), then a JSON
// summary. Uses the built package.
import { createInterface } from 'node:readline'
import { PostgresStore } from '@tokenquota/core/postgres'
import pg from 'pg'

const { DATABASE_URL, TABLE_PREFIX, CONCURRENCY, RESERVE, LEASE_TTL_MS } = process.env
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 })
pool.on('error', () => undefined) // an idle client whose server went away: the next query reconnects
const store = new PostgresStore({ pool, tablePrefix: TABLE_PREFIX })
const balance = { counter: 'credits', identifier: '=alice', window: { kind: 'balance' } }
const reserve = Number(RESERVE)
const settled = []
let next = 0

async function caller() {
  let refusals = 0
  while (refusals < 5) {
    const leaseId = `${process.pid}-${++next}`
    const now = Date.now()
    const expiresAt = now + Number(LEASE_TTL_MS)
    const result = await store.reserve({ leaseId, now, expiresAt, counters: [{ ...balance, amount: reserve, hold: true }], record: `{"pid":${process.pid}}` })
    if (!result.ok) {
      refusals += 1
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 5))
      continue
    }
    refusals = 0
    process.stdout.write(`reserved ${leaseId}\n`)
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5))
    const used = 1 + Math.floor(Math.random() * reserve)
    const [outcome] = await store.settle({ leaseId, now: Date.now(), expiresAt, charges: [{ ...balance, placement: 0, held: reserve, amount: used }] })
    settled.push({ leaseId, used, unpaid: outcome.unpaid ?? 0 })
    process.stdout.write(`settled ${leaseId}\n`)
  }
}

process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) if (line === 'go') break
process.stdin.destroy() // an open stdin would keep the process alive once its work is done
await Promise.all(Array.from({ length: Number(CONCURRENCY) }, caller))
process.stdout.write(`${JSON.stringify({ settled })}\n`)
await pool.end()
