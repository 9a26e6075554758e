import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, it } from 'vitest'
import { postgresDatabase } from '@tokenquota/test-support/postgres'
import type { LedgerEntry } from './credit-protocol.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { PostgresStore } from './postgres/postgres-store.js'

let url: string
let pool: pg.Pool
beforeAll(async () => {
  url = await postgresDatabase('multi')
  pool = new pg.Pool({ connectionString: url })
  pool.on('error', () => undefined)
})
afterAll(() => pool.end())

const workerFile = (name: string) => fileURLToPath(new URL(`../../../test-support/src/postgres/${name}`, import.meta.url))
const balance = { counter: 'credits', identifier: '=alice' }

interface Worker {
  readonly child: ChildProcess
  readonly lines: string[]
  readonly ready: Promise<void>
  readonly exited: Promise<number | null>
}

function startWorker(script: string, env: Record<string, string>): Worker {
  const child = spawn(process.execPath, [workerFile(script)], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] })
  const lines: string[] = []
  let buffered = ''
  const ready = new Promise<void>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const parts = buffered.split('\n')
      buffered = parts.pop()!
      lines.push(...parts)
      if (lines.includes('ready')) resolve()
    })
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, lines, ready, exited }
}

// The two runs use tables of their own (a prefix each) on the one database, side by side: most of
// each is Node processes starting and waiting on the hot row's lock, which overlap.
it.concurrent('4 processes × 8 concurrent callers on one balance, one killed with SIGKILL mid-run: the ledger sums to the balance, nothing negative, every lease settled or charged', {
  timeout: 120_000,
}, async ({ expect }) => {
  const tablePrefix = 'multi_'
  // Longer than any run, however loaded the machine: no lease expires before its settle (30 s did,
  // at load 11). The check reads as of after expiry, on the store's clock.
  const leaseTtlMs = 3_600_000
  // As many callers as a worker's pool has connections (8): each has a transaction at the row lock
  // (callers beyond the pool's size wait in its queue, not at the lock), and the victim holds up to
  // 8 leases when it is killed (200 credits, charged at expiry). 1,200 credits leave the survivors
  // ~70 settles. Each reserve, settle and refusal is one transaction on the one hot row: 4 × 40
  // callers on 3,000 credits made ~1,100 of them (4 × 40 × 5 refusals at the end alone), this ~300.
  const callers = 8
  const store = new PostgresStore({ pool, tablePrefix })
  await store.migrate()
  const start = Date.now()
  await store.credits.writeCredits({ ...balance, now: start, key: 'pack-1', change: { kind: 'topup', amount: 1200 } })

  const env = { DATABASE_URL: url, TABLE_PREFIX: tablePrefix, CONCURRENCY: String(callers), RESERVE: '25', LEASE_TTL_MS: String(leaseTtlMs) }
  const workers = Array.from({ length: 4 }, () => startWorker('balance-worker.mjs', env))
  await Promise.all(workers.map((each) => each.ready))
  for (const each of workers) each.child.stdin!.write('go\n')
  // Killed once it has settled some calls and holds others (reserved, not settled): with 8 callers,
  // waiting for 5 settles alone once caught it holding none.
  const victim = workers[0]!
  const seen = (word: string) => victim.lines.filter((line) => line.startsWith(word)).length
  while (victim.child.exitCode === null && (seen('settled') < 5 || seen('reserved') - seen('settled') < 3))
    await new Promise((resolve) => setTimeout(resolve, 10))
  expect(victim.child.exitCode).toBeNull()
  victim.child.kill('SIGKILL')
  const codes = await Promise.all(workers.map((each) => each.exited))
  expect(codes.slice(1)).toEqual([0, 0, 0])

  const survivors = workers.slice(1).flatMap((each) => (JSON.parse(each.lines.at(-1)!) as { settled: Array<{ leaseId: string; used: number }> }).settled)
  expect(survivors.length).toBeGreaterThan(40)

  // Once the killed worker's leases have expired, any call on the balance charges them.
  const later = Date.now() + leaseTtlMs + 1000
  const [state] = await store.credits.readBalances({ now: later, balances: [balance] })
  expect(state).toMatchObject({ reserved: 0 })
  const ledger = (await store.credits.readLedger({ ...balance, limit: 1_000_000 })) as LedgerEntry[]
  let sum = 0
  for (const [index, row] of ledger.entries()) {
    sum += row.amount
    expect([row.seq, row.balanceAfter]).toEqual([index + 1, sum])
    expect(row.balanceAfter).toBeGreaterThanOrEqual(0)
  }
  expect(sum).toBe(state!.balance)
  expect(state!.grants.reduce((total, grant) => total + grant.remaining, 0)).toBe(state!.balance)
  // Funds ran out: the last refusal of all saw no survivor's hold (one holding would have settled
  // and tried again), only the killed worker's, now charged: less than one reservation is left.
  expect(state!.balance).toBeLessThan(25)

  // Every lease: a surviving one settled with exactly one charge of what it used; the killed
  // worker's either settled before the kill or charged in full at expiry (none still holding).
  const charges = new Map<string, number>()
  for (const row of ledger.filter((each) => each.kind === 'charge'))
    charges.set(row.leaseId!, (charges.get(row.leaseId!) ?? 0) - row.amount + (row.unpaid ?? 0))
  for (const { leaseId, used } of survivors) expect([leaseId, charges.get(leaseId)]).toEqual([leaseId, used])
  const { rows } = await pool.query(`SELECT state, count(*)::int AS count FROM ${tablePrefix}leases GROUP BY state`)
  const byState = Object.fromEntries(rows.map((row) => [row.state, row.count]))
  expect(byState.holding).toBeUndefined()
  expect(byState.charged).toBeGreaterThan(0)
  const expiredCharges = ledger.filter((row) => row.kind === 'charge' && row.leaseId!.startsWith(`${victim.child.pid}-`) && row.at === later)
  expect(expiredCharges).toHaveLength(byState.charged)
  for (const row of expiredCharges) expect(row.amount + -(row.unpaid ?? 0)).toBe(-25)
})

it.concurrent('engine level, 4 processes: 70 concurrent calls of exactly 25 credits on a balance of 1,500 — exactly 60 admitted, the balance ends at 0', {
  timeout: 120_000,
}, async ({ expect }) => {
  const tablePrefix = 'engine_'
  const store = new PostgresStore({ pool, tablePrefix })
  await store.migrate()
  const quota = createTokenQuota({ policies: [{ name: 'credits', type: 'balance', identifier: 'user' }], store })
  await quota.admin.topUp({ policy: 'credits', context: { user: 'alice' }, amount: 1500, key: 'pack-1' })
  const workers = [18, 18, 17, 17].map((calls) => startWorker('credits-worker.mjs', { DATABASE_URL: url, TABLE_PREFIX: tablePrefix, CALLS: String(calls) }))
  await Promise.all(workers.map((each) => each.ready))
  for (const each of workers) each.child.stdin!.write('go\n')
  expect(await Promise.all(workers.map((each) => each.exited))).toEqual([0, 0, 0, 0])
  const results = workers.map((each) => JSON.parse(each.lines.at(-1)!) as { admitted: number; refused: string[] })
  expect(results.reduce((sum, result) => sum + result.admitted, 0)).toBe(60)
  expect(results.flatMap((result) => result.refused)).toEqual(Array.from({ length: 10 }, () => 'CreditsExhausted'))
  const balance = await quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })
  expect(balance).toMatchObject({ balance: 0, reserved: 0 })
  const ledger = await quota.admin.ledger({ policy: 'credits', context: { user: 'alice' }, limit: 1000 })
  expect(ledger.filter((row) => row.kind === 'charge')).toHaveLength(60)
  expect(ledger.reduce((sum, row) => sum + row.amount, 0)).toBe(0)
  expect(ledger.every((row) => row.balanceAfter >= 0)).toBe(true)
  await quota.close()
})
