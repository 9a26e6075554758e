// Reservations per second (reserve, then settle what was used: one cycle) at the store protocol,
// on one hot balance row (every caller on the same user) and on 1,000 users, PostgresStore next to
// RedisStore in the same run, on local servers started here (an embedded Postgres from npm, a
// redis-server). 40 concurrent callers, 2,000 cycles per run, 5 rounds, median.
//   npm run build && node bench/postgres.bench.ts
import type { CounterRequest, QuotaStore, WindowSpec } from '@tokenquota/core/store'
import { PostgresStore } from '@tokenquota/core/postgres'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'
import pg from 'pg'
import { createDatabase, startPostgresServer } from '../packages/test-support/src/postgres/postgres-server.ts'
import { startRedisServer } from '../packages/test-support/src/redis/redis-server.ts'

const cyclesPerRun = 2000
const rounds = 5
const concurrency = 40
const balance: WindowSpec = { kind: 'balance' }

/** A counter on the store's balance when it holds credits, else on a day window (what RedisStore holds until it has credits). */
function counterFor(store: QuotaStore, identifier: string, now: number): CounterRequest {
  const day = 86_400_000
  const window: WindowSpec = store.credits ? balance : { kind: 'fixed', start: Math.floor(now / day) * day, end: Math.floor(now / day) * day + day }
  return { counter: 'credits', identifier, window, limit: 1e15, amount: 25, hold: true }
}

async function fund(store: QuotaStore, users: number): Promise<void> {
  if (!store.credits) return
  for (let user = 0; user < users; user += 1) {
    await store.credits.writeCredits({ counter: 'credits', identifier: `=u${user}`, now: Date.now(), key: 'pack', change: { kind: 'topup', amount: 1e12 } })
  }
}

let leases = 0
async function run(store: QuotaStore, users: number): Promise<number> {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < cyclesPerRun) {
        const counter = counterFor(store, `=u${next++ % users}`, Date.now())
        const leaseId = `bench-${++leases}`
        const now = Date.now()
        const reserved = await store.reserve({ leaseId, now, expiresAt: now + 60_000, counters: [counter] })
        if (!reserved.ok) throw new Error('refused')
        await store.settle({
          leaseId,
          now: Date.now(),
          expiresAt: now + 60_000,
          charges: [{ ...counter, placement: reserved.placements[0]!, held: 25, amount: 20 }],
        })
      }
    }),
  )
  return cyclesPerRun / ((performance.now() - started) / 1000)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const postgres = await startPostgresServer()
const redis = await startRedisServer()
const pool = new pg.Pool({ connectionString: await createDatabase(postgres.url, 'bench'), max: 20 })
const client = new Redis(redis.url)
try {
  const postgresStore = new PostgresStore({ pool })
  await postgresStore.migrate()
  const stores: Array<[string, QuotaStore]> = [
    ['PostgresStore', postgresStore],
    ['RedisStore', new RedisStore({ client, prefix: 'bench' })],
  ]
  for (const [, store] of stores) await fund(store, 1000)
  const results = new Map<string, number[]>()
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, store] of stores) {
      for (const users of [1, 1000]) {
        const key = `${name} (${store.credits ? 'balance' : 'day window'}), ${users === 1 ? 'one hot row' : '1,000 users'}`
        results.set(key, [...(results.get(key) ?? []), await run(store, users)])
      }
    }
  }
  for (const [key, values] of results)
    console.log(`${key}: ${median(values).toFixed(0)} cycles/s (runs: ${values.map((value) => value.toFixed(0)).join(', ')})`)
} finally {
  client.disconnect()
  await pool.end()
  await redis.kill()
  await postgres.stop()
}
