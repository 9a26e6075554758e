import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, type ExpectStatic, expect, it } from 'vitest'
import { runTogether, scenarioWorker, startRedisServer, type RedisServer, type ScenarioWorker } from '@tokenquota/test-support/redis'
import { createTokenQuota } from '../engine/token-quota.js'
import type { BalanceRef, LedgerEntry } from './credit-protocol.js'
import { RedisStore } from './redis-store.js'

let server: RedisServer
// Four app processes serve both runs (each on keys of its own, PREFIX): they start once for the file.
let workers: ScenarioWorker[]
beforeAll(async () => {
  server = await startRedisServer()
  const script = fileURLToPath(new URL('../../../test-support/src/redis/credits-worker.mjs', import.meta.url))
  workers = Array.from({ length: 4 }, () =>
    scenarioWorker(spawn(process.execPath, [script], { env: { ...process.env, REDIS_URL: server.url }, stdio: ['pipe', 'pipe', 'inherit'] })),
  )
})
afterAll(async () => {
  // Every worker ran its scenarios to the end and exited on its own: none crashed.
  expect(await Promise.all(workers.map((worker) => worker.stop()))).toEqual([0, 0, 0, 0])
  await server.kill()
})

// Each run has keys of its own (PREFIX) on the one server; most of a run is Node processes starting.
const processes = { timeout: 60_000 }
const now = Date.UTC(2031, 5, 1)
const alice = { user: 'alice' }
/** The balance of policy 'credits' for alice, as the engine names it in the store. */
const aliceCredits: BalanceRef = { counter: 'credits', identifier: '=alice' }

/** One scenario per worker (the first ones), all started together once all are ready. */
function runWorkers(prefix: string, scenarios: ReadonlyArray<Record<string, string | number>>): Promise<unknown[]> {
  return runTogether(
    workers,
    scenarios.map((scenario) => ({ prefix, now, ...scenario })),
  )
}

/** A quota on the workers' balance (the same policy, store and prefix), to top it up and read it. */
function quotaOn(client: Redis, prefix: string) {
  const store = new RedisStore({ client, prefix })
  return { store, quota: createTokenQuota({ policies: [{ name: 'credits', type: 'balance', identifier: 'user' }], store, now: () => now }) }
}

/** The ledger's invariant: rows numbered from 1, each balanceAfter the running sum and never negative, Σ == balance == Σ grants. */
function expectLedgerSums(expect: ExpectStatic, ledger: readonly LedgerEntry[], balance: number, grants: number): void {
  expect(ledger.map((row) => row.seq)).toEqual(ledger.map((_, index) => index + 1))
  let sum = 0
  for (const row of ledger) {
    sum += row.amount
    expect(row.balanceAfter).toBe(sum)
    expect(row.balanceAfter).toBeGreaterThanOrEqual(0)
  }
  expect([balance, grants]).toEqual([sum, sum])
}

it.concurrent(
  '4 processes, 70 concurrent calls of exactly 25 credits on a balance of 1,500: exactly 60 are admitted, the balance ends at 0, never below, the ledger sums to it',
  processes,
  async ({ expect }) => {
    const client = new Redis(server.url)
    const { store, quota } = quotaOn(client, 'spend')
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 1500, key: 'pack' })
    const scenarios = [18, 18, 17, 17].map((calls) => ({ mode: 'spend', calls, amount: 25 }))
    const results = (await runWorkers('spend', scenarios)) as Array<{ admitted: number }>
    expect(results.reduce((sum, result) => sum + result.admitted, 0)).toBe(60)
    const balance = await quota.admin.credits({ policy: 'credits', context: alice })
    expect(balance).toMatchObject({ balance: 0, reserved: 0, available: 0 })
    const ledger = await store.credits.readLedger({ ...aliceCredits, limit: 1000 })
    expect(ledger.filter((row) => row.kind === 'charge' && row.amount === -25 && row.unpaid === undefined)).toHaveLength(60)
    expectLedgerSums(
      expect,
      ledger,
      balance.balance,
      balance.grants.reduce((sum, grant) => sum + grant.remaining, 0),
    )
    client.disconnect()
  },
)

it.concurrent('the same top-up key sent from 3 processes at once credits once: one ledger row', processes, async ({ expect }) => {
  const results = (await runWorkers(
    'topup',
    [1, 2, 3].map(() => ({ mode: 'topup', key: 'evt_checkout_1', amount: 500 })),
  )) as Array<{ applied: boolean }>
  expect(results.filter((result) => result.applied)).toHaveLength(1)
  const client = new Redis(server.url)
  const { quota } = quotaOn(client, 'topup')
  expect(await quota.admin.credits({ policy: 'credits', context: alice })).toMatchObject({ balance: 500, grants: [{ key: 'evt_checkout_1', remaining: 500 }] })
  expect(await quota.admin.ledger({ policy: 'credits', context: alice })).toMatchObject([{ seq: 1, kind: 'topup', amount: 500 }])
  client.disconnect()
})
