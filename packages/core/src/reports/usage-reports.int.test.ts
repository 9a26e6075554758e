import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { countedPrice } from '@tokenquota/test-support'
import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { RedisUsageStore } from './redis-usage-store.js'
import { trackUsage, type UsageAlert, type UsageTrackingOptions } from './usage-reports.js'
import { MemoryUsageStore, type UsageStore } from './usage-store.js'

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
  ['Redis', () => new RedisUsageStore({ client: redis, prefix: `reports${++prefixes}` })],
]

function setup(store: UsageStore, alerts: UsageTrackingOptions['alerts'] = {}) {
  const clock = createFakeClock('2026-03-10T12:00:00Z')
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow: { class: 'plan', counts: { pro: 100_000, free: 1000 } }, interval: 1, timeUnit: 'day' }],
    now: clock.now,
  })
  const tracking = trackUsage(quota, { store, alerts })
  const spend = async (context: Record<string, unknown>, input: number, output: number, model = 'gpt-4o') =>
    (await quota.reserve(context, { estimate: input + output, model })).commit({ input, output })
  return { clock, quota, tracking, spend }
}

describe.each(stores)('usage reports on %s', (_, createStore) => {
  it('counts names that are also property names of plain objects', async () => {
    const { tracking, spend } = setup(createStore())
    for (const user of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) await spend({ user, plan: 'pro', project: 'valueOf' }, 70, 30)
    await spend({ user: 'toString', plan: 'pro', project: 'valueOf' }, 70, 30)
    const report = await tracking.report()
    expect(report.breakdown.user).toEqual([
      { name: 'toString', tokens: 200, costUsd: 0, share: 0.4 },
      { name: '__proto__', tokens: 100, costUsd: 0, share: 0.2 },
      { name: 'constructor', tokens: 100, costUsd: 0, share: 0.2 },
      { name: 'hasOwnProperty', tokens: 100, costUsd: 0, share: 0.2 },
    ])
    expect(report.breakdown.project).toEqual([{ name: 'valueOf', tokens: 500, costUsd: 0, share: 1 }])
    expect(report.today).toEqual({ tokens: 500, costUsd: 0, requests: 5, refusals: 0 })
  })

  it('gives today, this month, the projected month, breakdowns, limit-hit rate and top consumers', async () => {
    const { clock, quota, tracking, spend } = setup(createStore())
    clock.set('2026-03-09T10:00:00Z')
    await spend({ user: 'ada', plan: 'pro', project: 'search', org: 'acme' }, 3000, 1000)
    clock.set('2026-03-10T09:00:00Z')
    await spend({ user: 'ada', plan: 'pro', project: 'search', org: 'acme' }, 2000, 1000, 'gpt-4o-mini')
    await spend({ user: 'bob', plan: 'free', project: 'support', org: 'acme', tags: ['beta'] }, 600, 200)
    await quota.reserve({ user: 'bob', plan: 'free' }, { estimate: 500 }).catch(() => undefined) // refused
    clock.set('2026-03-10T12:00:00Z')

    const report = await tracking.report()
    expect(report.today).toEqual({ tokens: 3800, costUsd: 0, requests: 2, refusals: 1 })
    expect(report.thisMonth).toEqual({ tokens: 7800, costUsd: 0, requests: 3, refusals: 1 })
    // 7,800 tokens in 9.5 days of March → 31 days.
    expect(report.burnRatePerHour).toBeCloseTo(7800 / (9.5 * 24), 6)
    expect(report.projectedMonth).toBe(Math.round(7800 + (7800 / (9.5 * 24)) * 21.5 * 24))
    expect(report.limitHitRate).toBe(0.25)
    expect(report.tokensPerRequest).toBe(2600)
    expect(report.breakdown.user).toEqual([
      { name: 'ada', tokens: 7000, costUsd: 0, share: 7000 / 7800 },
      { name: 'bob', tokens: 800, costUsd: 0, share: 800 / 7800 },
    ])
    expect(report.breakdown.project.map((entry) => [entry.name, entry.tokens])).toEqual([
      ['search', 7000],
      ['support', 800],
    ])
    expect(report.breakdown.model.map((entry) => [entry.name, entry.tokens])).toEqual([
      ['gpt-4o', 4800],
      ['gpt-4o-mini', 3000],
    ])
    expect(report.breakdown.org).toEqual([{ name: 'acme', tokens: 7800, costUsd: 0, share: 1 }])
    expect(report.topConsumers[0]).toMatchObject({ name: 'ada' })
    tracking.stop()
  })

  it('carries what priced calls cost, per user and per model, next to their tokens', async () => {
    const clock = createFakeClock('2026-03-10T12:00:00Z')
    const quota = createTokenQuota({
      policies: [{ name: 'org-usd', identifier: 'org', count: 'usd', allow: 100, interval: 1, timeUnit: 'month' }],
      now: clock.now,
    })
    const tracking = trackUsage(quota, { store: createStore() })
    const spend = async (user: string, model: string, input: number, output: number) =>
      (await quota.reserve({ org: 'acme', user }, { estimate: { input, output }, model })).commit({ input, output })
    await spend('ada', 'gpt-4o', 20_000, 2000)
    await spend('bob', 'gpt-4.1-nano', 20_000, 2000)
    const micros = (model: string) => Math.round(countedPrice(model, { input: 20_000, output: 2000 }) * 1e6)
    const report = await tracking.report()
    expect(report.today.costUsd).toBeCloseTo((micros('gpt-4o') + micros('gpt-4.1-nano')) / 1e6, 9)
    expect(report.breakdown.user.map((user) => [user.name, user.costUsd])).toEqual([
      ['ada', micros('gpt-4o') / 1e6],
      ['bob', micros('gpt-4.1-nano') / 1e6],
    ])
    expect(report.breakdown.model.find((model) => model.name === 'gpt-4o')?.costUsd).toBe(micros('gpt-4o') / 1e6)
    tracking.stop()
  })

  it('starts a new month empty', async () => {
    const { clock, tracking, spend } = setup(createStore())
    clock.set('2026-03-31T23:00:00Z')
    await spend({ user: 'ada', plan: 'pro' }, 100, 100)
    clock.set('2026-04-01T01:00:00Z')
    expect((await tracking.report()).thisMonth).toEqual({ tokens: 0, costUsd: 0, requests: 0, refusals: 0 })
  })
})

describe('usage alerts', () => {
  it('flags a user burning far above their norm, and one spending many tokens per call, once a day', async () => {
    const alerts: UsageAlert[] = []
    const { clock, spend } = setup(new MemoryUsageStore(), {
      anomalyFactor: 3,
      historyDays: 7,
      minNorm: 1000,
      maxTokensPerRequest: 5000,
      onAlert: (alert) => alerts.push(alert),
    })
    for (let day = 1; day <= 7; day += 1) {
      clock.set(`2026-03-0${day}T10:00:00Z`)
      await spend({ user: 'ada', plan: 'pro' }, 1500, 500)
    }
    clock.set('2026-03-08T10:00:00Z')
    await spend({ user: 'ada', plan: 'pro' }, 4000, 1000)
    expect(alerts).toEqual([])
    await spend({ user: 'ada', plan: 'pro' }, 4000, 1000)
    expect(alerts.map((alert) => alert.kind)).toEqual(['anomaly'])
    expect(alerts[0]).toMatchObject({ user: 'ada', tokens: 10_000, norm: 2000 })
    await spend({ user: 'ada', plan: 'pro' }, 9000, 1000)
    await spend({ user: 'ada', plan: 'pro' }, 9000, 1000)
    expect(alerts.map((alert) => alert.kind)).toEqual(['anomaly', 'efficiency'])
  })
})

describe('report costs in units of ten nano-dollars', () => {
  it('adds a small call at its table price, and reads the micro-dollar cost fields of earlier versions converted', async () => {
    const store = new RedisUsageStore({ client: redis, prefix: `reports${++prefixes}` })
    await store.addUsage({ day: '2026-03-14', tokens: 36, attribution: { user: ['ada'] }, costUnits: 945 })
    await redis.hset(`reports${prefixes}:usage:2026-03-14`, 'c', '10', 'cuser:ada', '10', 'cuser:bob', '3')
    const [day] = await store.readDays(['2026-03-14'])
    expect(day!.costUnits).toBe(945 + 1000)
    expect(day!.costBy.user).toEqual({ ada: 945 + 1000, bob: 300 })
  })
})
