import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import { runTogether, scenarioWorker, startRedisServer, type RedisServer, type ScenarioWorker } from '@tokenquota/test-support/redis'
import { RedisStore } from './redis-store.js'

let server: RedisServer
// Four app processes serve the token run, the dollar run, then (three of them) the exiting run, each
// on keys of its own (PREFIX): they start once for the file. The runs take turns: a run has the
// processes to itself, its callers competing across processes on one server, not with another run's
// callers for a process (a worker whose loop was busy with another run's callers could start so
// late that the others had spent the quota: 0 calls).
let workers: ScenarioWorker[]
beforeAll(async () => {
  server = await startRedisServer()
  const script = fileURLToPath(new URL('../../../test-support/src/redis/quota-worker.mjs', import.meta.url))
  workers = Array.from({ length: 4 }, () =>
    scenarioWorker(spawn(process.execPath, [script], { env: { ...process.env, REDIS_URL: server.url }, stdio: 'pipe' })),
  )
})
afterAll(async () => {
  // Every worker ran its scenarios to the end and exited on its own: none crashed.
  expect(await Promise.all(workers.map((worker) => worker.stop()))).toEqual([0, 0, 0, 0])
  await server.kill()
})

// Each run has a minute on a loaded 2-core machine; one that hangs still fails.
const processes = { timeout: 60_000 }

interface WorkerResult {
  readonly committed: number
  readonly calls: number
}

/** One run on the four workers: 40 concurrent callers each for one user, started together. */
function runWorkers(scenario: { prefix: string; allow: number; count?: 'usd' }): Promise<WorkerResult[]> {
  return runTogether<WorkerResult>(
    workers,
    workers.map(() => ({ ...scenario, concurrency: 40 })),
  )
}

it('4 processes × 40 concurrent callers for one user commit at most `allow` and use at least 80 % of it', processes, async () => {
  const allow = 20_000
  const results = await runWorkers({ prefix: 'multi', allow })
  const committed = results.reduce((sum, result) => sum + result.committed, 0)
  expect(results.every((result) => result.calls > 0)).toBe(true)
  expect(committed).toBeLessThanOrEqual(allow)
  expect(committed).toBeGreaterThanOrEqual(0.8 * allow)

  const client = new Redis(server.url)
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }],
    store: new RedisStore({ client, prefix: 'multi' }),
  })
  expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: committed, reserved: 0 }])
  client.disconnect()
})

it('on a dollar budget, 4 processes × 40 callers: the provider usage, priced, never exceeds `allow`', processes, async () => {
  // ~270 calls of ~$0.00055 (gpt-4o, 60–100 tokens in, 20–50 out), as many as the token run's: each
  // is priced twice (by the engine, by the worker), and $0.5 made ~900 of them for the same check.
  const allow = 0.15
  const results = await runWorkers({ prefix: 'multi-usd', allow, count: 'usd' })
  const priced = results.reduce((sum, result) => sum + result.committed, 0)
  expect(results.every((result) => result.calls > 0)).toBe(true)
  expect(priced).toBeLessThanOrEqual(allow)
  expect(priced).toBeGreaterThanOrEqual(0.8 * allow)

  const client = new Redis(server.url)
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', count: 'usd', allow, interval: 1, timeUnit: 'day' }],
    store: new RedisStore({ client, prefix: 'multi-usd' }),
  })
  const [status] = await quota.status({ user: 'alice' })
  // Each charge is rounded up to ten nano-dollars: the counter holds at least the priced usage, never more than allow.
  expect(status).toMatchObject({ unit: 'usd', reserved: 0 })
  expect(status!.used).toBeGreaterThanOrEqual(priced - 1e-9)
  expect(status!.used).toBeLessThanOrEqual(allow)
  client.disconnect()
})

// On three of the workers, after the runs above: each exits mid-run, as a deploy or a crash would.
it(
  'processes that exit without flush() leave no call free: once their leases expire, the shared counter holds at least what the provider counted',
  processes,
  async () => {
    const leaseTtlMs = 60_000
    const exiting = workers.slice(0, 3)
    const runs = exiting.map((worker) => worker.start({ mode: 'exit', prefix: 'exiting', concurrency: 20, calls: 200, leaseTtlMs }))
    await Promise.all(runs.map((run) => run.ready))
    for (const run of runs) run.go()
    expect(await Promise.all(exiting.map((worker) => worker.exited))).toEqual([0, 0, 0])
    const providerCounted = runs.reduce((sum, run) => sum + Number(run.events.at(-1)!.replace('counted ', '')), 0)
    expect(providerCounted).toBeGreaterThan(0)
    expect(exiting.every((worker) => /not settled in the store/.test(worker.stderr()))).toBe(true)

    const client = new Redis(server.url)
    const policies = [{ name: 'user-daily', identifier: 'user', allow: 1_000_000, interval: 1, timeUnit: 'day' as const }]
    // Read as of the moment the workers' leases have all expired (the store runs on the engine's clock).
    const later = createTokenQuota({ policies, store: new RedisStore({ client, prefix: 'exiting' }), now: () => Date.now() + leaseTtlMs + 1000 })
    // Each store operation charges up to 100 expired leases: a few reads charge them all.
    let [status] = await later.status({ user: 'alice' })
    for (let reads = 1; status!.reserved > 0 && reads < 20; reads += 1) [status] = await later.status({ user: 'alice' })
    expect(status).toMatchObject({ reserved: 0 })
    expect(status!.used).toBeGreaterThanOrEqual(providerCounted)
    client.disconnect()
  },
)
