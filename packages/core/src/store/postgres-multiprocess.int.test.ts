import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { postgresDatabase, runTogether, scenarioWorker, type ScenarioWorker } from '@tokenquota/test-support/postgres'
import type { LedgerEntry } from './credit-protocol.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { PostgresStore } from './postgres/postgres-store.js'

let url: string
let pool: pg.Pool
// Four app processes serve both runs, started once for the file: the engine-level run, then the
// SIGKILL run, whose victim is the first of them.
let workers: ScenarioWorker[]
beforeAll(async () => {
  url = await postgresDatabase('multi')
  pool = new pg.Pool({ connectionString: url })
  pool.on('error', () => undefined)
  const script = fileURLToPath(new URL('../../../test-support/src/postgres/balance-worker.mjs', import.meta.url))
  const start = () => scenarioWorker(spawn(process.execPath, [script], { env: { ...process.env, DATABASE_URL: url }, stdio: ['pipe', 'pipe', 'inherit'] }))
  workers = Array.from({ length: 4 }, start)
})
afterAll(async () => {
  // Every worker but the victim (killed, or not when the SIGKILL run is left out) ran its scenarios
  // to the end and exited on its own: none crashed.
  const codes = await Promise.all(workers.map((worker) => worker.stop()))
  expect(codes.slice(1)).toEqual([0, 0, 0])
  await pool.end()
})

const balance = { counter: 'credits', identifier: '=alice' }

// The two runs use tables of their own (a prefix each) on the one database, one after the other.
it('engine level, 4 processes: 70 concurrent calls of exactly 25 credits on a balance of 1,500 — exactly 60 admitted, the balance ends at 0', {
  timeout: 120_000,
}, async ({ expect }) => {
  const tablePrefix = 'engine_'
  const store = new PostgresStore({ pool, tablePrefix })
  await store.migrate()
  const quota = createTokenQuota({ policies: [{ name: 'credits', type: 'balance', identifier: 'user' }], store })
  await quota.admin.topUp({ policy: 'credits', context: { user: 'alice' }, amount: 1500, key: 'pack-1' })
  const results = await runTogether<{ admitted: number; refused: string[] }>(
    workers,
    [18, 18, 17, 17].map((calls) => ({ mode: 'engine', tablePrefix, calls })),
  )
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

// Last, on the workers the engine-level run used: the first of them is killed mid-run.
it('4 processes × 8 concurrent callers on one balance, one killed with SIGKILL mid-run: the ledger sums to the balance, nothing negative, every lease settled or charged', {
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

  const scenario = { mode: 'store', tablePrefix, concurrency: callers, reserve: 25, leaseTtlMs }
  const victim = workers[0]!
  const runs = workers.map((worker) => worker.start<{ settled: Array<{ leaseId: string; used: number }> }>(scenario))
  await Promise.all(runs.map((run) => run.ready))
  for (const run of runs) run.go()
  // Killed once it has settled some calls and holds others (reserved, not settled): with 8 callers,
  // waiting for 5 settles alone once caught it holding none.
  const seen = (word: string) => runs[0]!.events.filter((event) => event.startsWith(word)).length
  while (victim.child.exitCode === null && (seen('settled') < 5 || seen('reserved') - seen('settled') < 3))
    await new Promise((resolve) => setTimeout(resolve, 10))
  expect(victim.child.exitCode).toBeNull()
  victim.child.kill('SIGKILL')
  await expect(runs[0]!.result).rejects.toThrow(/signal SIGKILL/)

  const survivors = (await Promise.all(runs.slice(1).map((run) => run.result))).flatMap((result) => result.settled)
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
