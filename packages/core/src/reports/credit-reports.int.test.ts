import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { RedisUsageStore } from './redis-usage-store.js'
import { periodReport } from './period-report.js'
import { trackUsage } from './usage-reports.js'
import { MemoryUsageStore, type UsageStore } from './usage-store.js'

// Usage reports add up credits per balance policy: granted (top-ups applied, not replays), spent
// (what calls charged to the balance, a spill's credit part included), expired, unpaid.

let server: RedisServer
let redis: Redis
let prefixes = 0
beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.socket)
})
afterAll(async () => {
  redis.disconnect()
  await server.kill()
})

const stores: Array<[string, () => UsageStore]> = [
  ['memory', () => new MemoryUsageStore()],
  ['Redis', () => new RedisUsageStore({ client: redis, prefix: `credit-reports${++prefixes}` })],
]

describe.each(stores)('credits in usage reports on %s', (_, createStore) => {
  it('counts top-ups once, the credit part of a spill, expiries and what a balance could not pay, per balance policy and unit', async () => {
    const clock = createFakeClock('2026-03-10T12:00:00Z')
    const quota = createTokenQuota({
      policies: [
        { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' },
        { name: 'credits', type: 'balance', identifier: 'user' },
        // A dollar balance for the org's gpt-4o calls (none in this test: it is only topped up).
        { name: 'wallet', type: 'balance', identifier: 'org', count: 'usd', models: ['gpt-4o'] },
      ],
      now: clock.now,
    })
    const store = createStore()
    const tracking = trackUsage(quota, { store })
    const alice = { user: 'alice', org: 'acme' }
    const topUp = (amount: number, key: string, expiresAt?: number) =>
      quota.admin.topUp({ policy: 'credits', context: alice, amount, key, ...(expiresAt === undefined ? {} : { expiresAt }) })
    await topUp(300, 'promo', Date.parse('2026-03-11T00:00:00Z'))
    await topUp(1000, 'pack')
    await topUp(1000, 'pack') // a replay: not granted again
    await quota.admin.topUp({ policy: 'wallet', context: { org: 'acme' }, amount: 2.5, key: 'invoice-7' })
    await (await quota.reserve(alice, { estimate: 150, model: 'gpt-4o-mini' })).commit({ total: 150 }) // plan 100 + credits 50, from "promo"

    clock.set('2026-03-11T12:00:00Z') // "promo" expired: 250 gone
    await quota.admin.credits({ policy: 'credits', context: alice })
    const report = await tracking.report()
    expect(report.credits).toEqual([
      { policy: 'credits', unit: 'tokens', granted: 1300, spent: 50, expired: 250, unpaid: 0 },
      { policy: 'wallet', unit: 'usd', granted: 2.5, spent: 0, expired: 0, unpaid: 0 },
    ])
    const period = await periodReport(store, { now: clock.now(), days: 1 }) // today only: the expiry
    expect(period.credits).toEqual([{ policy: 'credits', unit: 'tokens', granted: 0, spent: 0, expired: 250, unpaid: 0 }])
  })

  it('a call charged more than its balance holds: spent counts the charge, unpaid the part the balance could not pay', async () => {
    const quota = createTokenQuota({ policies: [{ name: 'prepaid', type: 'balance', identifier: 'user' }] })
    const tracking = trackUsage(quota, { store: createStore() })
    await quota.admin.topUp({ policy: 'prepaid', context: { user: 'bob' }, amount: 200, key: 'pack' })
    await (await quota.reserve({ user: 'bob' }, { estimate: 150 })).commit({ total: 300 })
    expect((await tracking.report()).credits).toEqual([{ policy: 'prepaid', unit: 'tokens', granted: 200, spent: 300, expired: 0, unpaid: 100 }])
  })

  it('a usage store without credits and a quota without balance policies report none', async () => {
    const quota = createTokenQuota({ policies: [{ name: 'daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' }] })
    const tracking = trackUsage(quota, { store: createStore() })
    await (await quota.reserve({ user: 'alice' }, { estimate: 10 })).commit({ total: 10 })
    expect((await tracking.report()).credits).toEqual([])
  })
})
