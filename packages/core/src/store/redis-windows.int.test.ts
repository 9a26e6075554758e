import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { MemoryStore } from './memory-store.js'
import type { QuotaStore } from './quota-store.js'
import { RedisStore } from './redis-store.js'

// Window bookkeeping that only shows after particular sequences: each case runs on MemoryStore
// (the reference) and on a real Redis. Commits are awaited: each step sees the one before.
let server: RedisServer
let redis: Redis
let prefixes = 0
const minute = 60_000
const stores: Array<[string, () => QuotaStore]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: `windows${++prefixes}` })],
]

beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.socket)
})
afterAll(async () => {
  redis.disconnect()
  await server.kill()
})

const rollingHour: QuotaPolicy = { name: 'rolling', type: 'rollingwindow', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'hour' }
const alice = { user: 'alice' }

describe.each(stores)('%s', (_, createStore) => {
  it('lowers a rolling window when old buckets leave it at the moment of a refusal', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const quota = createTokenQuota({ policies: [rollingHour], store: createStore(), now: clock.now, commitMode: 'await' })
    await (await quota.reserve(alice, { estimate: 600 })).commit({ total: 600 })
    clock.advance(30 * minute)
    await (await quota.reserve(alice, { estimate: 400 })).commit({ total: 400 })
    clock.advance(31 * minute)
    // Refused (400 + 700 > 1000) while the first 600 leave the window: no read in between.
    await expect(quota.reserve(alice, { estimate: 700 })).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    expect(await quota.status(alice)).toMatchObject([{ used: 400, reserved: 0 }])
    clock.advance(30 * minute)
    expect(await quota.status(alice)).toMatchObject([{ used: 0, reserved: 0 }])
    await (await quota.reserve(alice, { estimate: 500 })).commit({ total: 500 })
  })

  it('returns a hold placed by a host whose clock is behind by more than the window', async () => {
    const t0 = Date.UTC(2026, 2, 1)
    const store = createStore()
    const rollingMinute: QuotaPolicy = { ...rollingHour, timeUnit: 'minute' }
    // Behind by 5 minutes: more than the window, less than the lease TTL (10 minutes).
    const ahead = createTokenQuota({ policies: [rollingMinute], store, now: () => t0 + 5 * minute, commitMode: 'await' })
    const behind = createTokenQuota({ policies: [rollingMinute], store, now: () => t0, commitMode: 'await' })
    await (await ahead.reserve(alice, { estimate: 10 })).commit({ total: 10 })
    const late = await behind.reserve(alice, { estimate: 100 })
    expect(await ahead.status(alice)).toMatchObject([{ used: 10, reserved: 100 }])
    await late.commit({ total: 40 })
    expect(await ahead.status(alice)).toMatchObject([{ used: 50, reserved: 0 }])
    await (await behind.reserve(alice, { estimate: 100 })).release()
    expect(await ahead.status(alice)).toMatchObject([{ used: 50, reserved: 0 }])
  })

  it('rounds a clock with fractions of a millisecond, so flexi charges land', async () => {
    let time = Date.UTC(2026, 2, 1) + 0.25
    const quota = createTokenQuota({
      policies: [{ name: 'flexi', type: 'flexi', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'hour' }],
      store: createStore(),
      now: () => (time += 0.5),
      commitMode: 'await',
    })
    await (await quota.reserve(alice, { estimate: 100 })).commit({ total: 60 })
    await (await quota.reserve(alice, { estimate: 100 })).commit({ total: 30 })
    expect(await quota.status(alice)).toMatchObject([{ used: 90, reserved: 0 }])
  })
})

describe('RedisStore commits in the background', () => {
  it('survives a pacing function that throws when a background commit crosses a throttle threshold', async () => {
    const warnings: string[] = []
    const quota = createTokenQuota({
      policies: [
        {
          ...rollingHour,
          allow: 100,
          thresholds: [
            {
              at: 0.5,
              action: 'throttle',
              minIntervalMs: () => {
                throw new Error('plan lookup failed')
              },
            },
          ],
        },
      ],
      store: new RedisStore({ client: redis, prefix: `background${++prefixes}` }),
      on: { warning: (event) => warnings.push(event.code) },
    })
    const unhandled: unknown[] = []
    const record = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', record)
    try {
      await (await quota.reserve(alice, { estimate: 80 })).commit({ total: 60 })
      await quota.flush()
      expect(await quota.status(alice)).toMatchObject([{ used: 60, reserved: 0 }])
      await (await quota.reserve(alice, { estimate: 10 })).commit({ total: 10 })
      await quota.flush()
      expect(await quota.status(alice)).toMatchObject([{ used: 70, reserved: 0 }])
      expect(warnings).toContain('PolicyFunctionFailed')
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', record)
    }
  })
})

describe('RedisStore keys', () => {
  it('gives every key a TTL after reserves, commits, refusals, reads, checks and expiries', async () => {
    const prefix = `ttl${++prefixes}`
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const policies: QuotaPolicy[] = [
      rollingHour,
      { name: 'daily', identifier: 'user', allow: 2000, interval: 1, timeUnit: 'day' },
      { name: 'flexi', type: 'flexi', identifier: 'user', allow: 1500, interval: 2, timeUnit: 'hour' },
    ]
    const quota = createTokenQuota({ policies, store: new RedisStore({ client: redis, prefix }), now: clock.now, leaseTtlMs: 5 * minute, commitMode: 'await' })
    // Reads and checks of identifiers never charged.
    await quota.status({ user: 'reader' })
    await quota.check({ user: 'checker' })
    await (await quota.reserve(alice, { estimate: 300 })).commit({ total: 200 })
    await quota.reserve(alice, { estimate: 300 }) // never settled: expires
    await expect(quota.reserve(alice, { estimate: 900 })).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    await quota.reserve({ user: 'bob' }, { estimate: 50 }) // expires after its keys are gone
    clock.advance(4 * 60 * minute)
    await redis.del(...(await redis.keys(`${prefix}:c:rolling:*`)))
    await quota.status(alice)
    await quota.status({ user: 'bob' })
    await quota.check({ user: 'bob' })
    const keys = await redis.keys(`${prefix}:*`)
    expect(keys.length).toBeGreaterThan(3)
    const untimed = []
    for (const key of keys) if ((await redis.pttl(key)) < 0) untimed.push(`${key} ${JSON.stringify(await redis.hgetall(key))}`)
    expect(untimed).toEqual([])
  })
})
