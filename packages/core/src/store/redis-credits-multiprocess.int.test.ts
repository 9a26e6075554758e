import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, it } from 'vitest'
import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import type { BalanceRef } from './credit-protocol.js'
import { RedisStore } from './redis-store.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server.kill())

// Each run has keys of its own (PREFIX) on the one server; most of a run is Node processes starting.
const processes = { timeout: 60_000 }
const now = Date.UTC(2031, 5, 1)
const alice: BalanceRef = { counter: 'credits', identifier: '=alice' }

/** Starts one credits-worker process per environment and opens their start gate once all are ready. */
async function runWorkers(prefix: string, envs: ReadonlyArray<Record<string, string>>): Promise<unknown[]> {
  const worker = fileURLToPath(new URL('../../../test-support/src/redis/credits-worker.mjs', import.meta.url))
  const runs = envs.map((env) =>
    promisify(execFile)(process.execPath, [worker], { env: { ...process.env, REDIS_URL: server.url, PREFIX: prefix, NOW: String(now), ...env } }),
  )
  const gate = new Redis(server.url)
  try {
    const deadline = performance.now() + 60_000
    while (Number(await gate.get(`${prefix}:ready`)) < runs.length && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    await gate.rpush(`${prefix}:go`, ...runs.map(() => 'go'))
  } finally {
    gate.disconnect()
  }
  return (await Promise.all(runs)).map(({ stdout }) => JSON.parse(stdout) as unknown)
}

it.concurrent(
  '4 processes, 70 concurrent reservations of exactly 25 credits on a balance of 1,500: exactly 60 hold, the balance ends at 0, never below, the ledger sums to it',
  processes,
  async ({ expect }) => {
    const client = new Redis(server.url)
    const store = new RedisStore({ client, prefix: 'spend' })
    await store.credits.writeCredits({ ...alice, now, key: 'pack', change: { kind: 'topup', amount: 1500 } })
    const results = (await runWorkers(
      'spend',
      [18, 18, 17, 17].map((calls) => ({ MODE: 'spend', CALLS: String(calls), AMOUNT: '25' })),
    )) as Array<{ held: number }>
    expect(results.reduce((sum, result) => sum + result.held, 0)).toBe(60)
    const [state] = await store.credits.readBalances({ now, balances: [alice] })
    expect(state).toMatchObject({ balance: 0, reserved: 0 })
    const rows = await store.credits.readLedger({ ...alice, limit: 1000 })
    expect(rows).toHaveLength(61)
    expect(rows.map((row) => row.seq)).toEqual(rows.map((_, index) => index + 1))
    expect(rows.every((row) => row.balanceAfter >= 0 && row.unpaid === undefined)).toBe(true)
    expect(rows.reduce((sum, row) => sum + row.amount, 0)).toBe(state!.balance)
    client.disconnect()
  },
)

it.concurrent('the same top-up key sent from 3 processes at once credits once: one ledger row', processes, async ({ expect }) => {
  const results = (await runWorkers(
    'topup',
    [1, 2, 3].map(() => ({ MODE: 'topup', KEY: 'evt_checkout_1', AMOUNT: '500' })),
  )) as Array<{ applied: boolean }>
  expect(results.filter((result) => result.applied)).toHaveLength(1)
  const client = new Redis(server.url)
  const store = new RedisStore({ client, prefix: 'topup' })
  const [state] = await store.credits.readBalances({ now, balances: [alice] })
  expect(state).toMatchObject({ balance: 500, grants: [{ key: 'evt_checkout_1', remaining: 500 }] })
  expect(await store.credits.readLedger({ ...alice, limit: 10 })).toMatchObject([{ seq: 1, kind: 'topup', amount: 500, grant: 'evt_checkout_1' }])
  client.disconnect()
})
