// One app process of the engine-level credits check on Postgres: CALLS concurrent reservations of
// exactly 25 credits (exact estimates) on alice's balance, each admitted one committed at 25.
// Prints `ready`, waits for `go` on stdin (every process starts together), then a JSON summary.
// Uses the built package, as an app would.
import { createInterface } from 'node:readline'
import { createTokenQuota, TokenQuotaExceededError } from '@tokenquota/core'
import { PostgresStore } from '@tokenquota/core/postgres'
import pg from 'pg'

const { DATABASE_URL, TABLE_PREFIX, CALLS } = process.env
const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 })
pool.on('error', () => undefined)
const quota = createTokenQuota({
  policies: [{ name: 'credits', type: 'balance', identifier: 'user' }],
  store: new PostgresStore({ pool, tablePrefix: TABLE_PREFIX }),
})

process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) if (line === 'go') break
process.stdin.destroy()
const results = await Promise.allSettled(Array.from({ length: Number(CALLS) }, () => quota.reserve({ user: 'alice' }, { estimate: 25 })))
const refusals = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))
for (const reason of refusals) if (!TokenQuotaExceededError.isInstance(reason)) throw reason
const leases = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
await Promise.all(leases.map((lease) => lease.commit({ input: 20, output: 5 })))
await quota.close()
process.stdout.write(`${JSON.stringify({ admitted: leases.length, refused: refusals.map((reason) => reason.code) })}\n`)
await pool.end()
