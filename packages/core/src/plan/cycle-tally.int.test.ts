import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { normalizePolicy } from '../policy/policy.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { RedisStore } from '../store/redis-store.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { tallyCounter } from './cycle-tally.js'
import { Planner } from './planner.js'
import { chargesFor } from './request-plan.js'

// A rollover reads the last cycle's usage at the caller's first request of the next one, which may
// come days after the cycle ended. Stores drop a fixed window soon after its end (MemoryStore at its
// next sweep, Redis by a TTL of the window's end plus a minute): the cycle tally must outlive it.
let server: RedisServer
let redis: Redis
beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.socket)
})
afterAll(async () => {
  redis.disconnect()
  await server.kill()
})

const year = new Date(createFakeClock().now()).getUTCFullYear() + 1
const day = 86_400_000
const policy: QuotaPolicy = {
  name: 'plan',
  identifier: 'user',
  allow: 100,
  interval: 1,
  timeUnit: 'month',
  anchor: 'subscribedAt',
  rollover: { into: 'credits', share: 0.5, expiresAfterCycles: 1 },
}
const alice = { user: 'alice', subscribedAt: `${year - 1}-01-31` }

async function spend(store: QuotaStore, at: number, amount: number) {
  const planner = new Planner({
    policies: [normalizePolicy(policy, { unidentified: 'refuse' })],
    shardOf: () => undefined,
    onUnmatchedModel() {},
    onUnmatchedTool() {},
  })
  const plan = await planner.plan(alice, { kind: 'model', name: undefined }, at, { input: amount, output: 0, total: amount })
  const reserved = await store.reserve({ leaseId: `lease-${at}`, now: at, expiresAt: at + 60_000, counters: plan.counters })
  if (!reserved.ok) throw new Error('refused')
  await store.settle({
    leaseId: `lease-${at}`,
    hold: reserved.hold,
    now: at,
    expiresAt: at + 60_000,
    charges: chargesFor(plan, reserved.placements, reserved.held, () => amount),
  })
  return plan
}

describe('the cycle tally', () => {
  it('is planned beside the cycle counter, same start, kept until the next cycle ends', async () => {
    const plan = await spend(new MemoryStore(), Date.UTC(year, 1, 10), 30)
    expect(plan.counters.map((counter) => [counter.counter, counter.window, counter.amount, counter.targets.length])).toEqual([
      ['plan', { kind: 'fixed', start: Date.UTC(year, 0, 31), end: Date.UTC(year, 1, 28) }, 30, 1],
      [tallyCounter('plan'), { kind: 'fixed', start: Date.UTC(year, 0, 31), end: Date.UTC(year, 2, 31) }, 30, 0],
    ])
  })

  it('MemoryStore: still holds the last cycle’s usage days after its counter was evicted', async () => {
    const clock = createFakeClock(Date.UTC(year, 1, 10))
    const store = new MemoryStore()
    const plan = await spend(store, clock.now(), 30)
    const [cycle, tally] = plan.counters
    clock.set(Date.UTC(year, 2, 5))
    await spend(store, clock.now(), 1) // a sweep runs: the ended cycle's counter goes
    const [cycleAfter, tallyAfter] = await store.read({ now: clock.now(), counters: [cycle!, tally!] })
    expect([cycleAfter!.used, tallyAfter!.used]).toEqual([0, 30])
  })

  it('RedisStore: its key lives until the next cycle ends, the cycle counter’s a minute past its own end', async () => {
    const prefix = `tally${Date.now()}`
    const store = new RedisStore({ client: redis, prefix, timeoutMs: 10_000 }) // measures TTLs, not speed: a loaded machine must not fail it
    const at = Date.UTC(year, 1, 10)
    await spend(store, at, 30)
    const ttlOf = async (pattern: string) => {
      const [key] = await redis.keys(`${prefix}:*c:${pattern}:*`)
      return redis.pttl(key!)
    }
    const cycleTtl = await ttlOf('plan')
    const tallyTtl = await ttlOf(tallyCounter('plan').replace(/[@]/g, '*'))
    expect(Math.abs(cycleTtl - (Date.UTC(year, 1, 28) - at + 60_000))).toBeLessThan(5_000)
    expect(Math.abs(tallyTtl - (Date.UTC(year, 2, 31) - at + 60_000))).toBeLessThan(5_000)
    expect(tallyTtl - cycleTtl).toBeGreaterThan(28 * day)
  })
})
