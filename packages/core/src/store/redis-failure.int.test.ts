import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { StoreUnavailableError, TokenQuotaExceededError } from '../shared/errors.js'
import type { StoreErrorEvent, StoreReplayedEvent } from '../engine/events.js'
import { createFakeClock } from '../testing/fake-clock.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { connectFailFast, startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { RedisStore } from './redis-store.js'

// The real redis-server is stopped mid-run: the app must neither crash nor mistake the outage
// for a quota refusal, and counting must resume when Redis is back.
let server: RedisServer
let client: Redis
beforeAll(async () => {
  server = await startRedisServer()
  client = await connectFailFast(server.url)
})
afterAll(async () => {
  client.disconnect()
  await server.kill()
})

const policies: QuotaPolicy[] = [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }]
const call = (quota: ReturnType<typeof createTokenQuota>, user: string, estimate = 100) =>
  quota.reserve({ user }, { estimate }).then((lease) => lease.commit({ total: estimate }))

async function waitForRedis(): Promise<void> {
  await vi.waitFor(async () => expect(await client.ping()).toBe('PONG'), { timeout: 5000, interval: 50 })
}

describe('Redis outage', () => {
  it('fails closed with StoreUnavailableError, then counts again once Redis is back', async () => {
    const errors: StoreErrorEvent[] = []
    const quota = createTokenQuota({
      policies,
      store: new RedisStore({ client, prefix: 'closed', timeoutMs: 300 }),
      on: { storeError: (event) => errors.push(event) },
    })
    await call(quota, 'alice')
    await quota.flush() // the commit is written in the background: let it land before the outage
    await server.kill()
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => call(quota, 'alice')))
    expect(results.every((result) => result.status === 'rejected' && StoreUnavailableError.isInstance(result.reason))).toBe(true)
    expect(results.some((result) => result.status === 'rejected' && TokenQuotaExceededError.isInstance(result.reason))).toBe(false)
    expect(errors.length).toBe(20)
    expect(errors.every((event) => event.failureMode === 'closed' && event.operation === 'reserve')).toBe(true)

    await server.restart()
    await waitForRedis()
    for (let index = 0; index < 10; index += 1) await call(quota, 'alice')
    await expect(call(quota, 'alice')).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 1000 }])
  })

  it('fails open onto a local limiter that still enforces, reports the outage, and returns to Redis', async () => {
    const errors: StoreErrorEvent[] = []
    const quota = createTokenQuota({
      policies,
      failureMode: 'open',
      store: new RedisStore({ client, prefix: 'open', timeoutMs: 300 }),
      on: { storeError: (event) => errors.push(event) },
    })
    await call(quota, 'bob')
    await quota.flush()
    await server.kill()
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => call(quota, 'bob')))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10)
    expect(
      results.filter((result) => result.status === 'rejected').every((result) => TokenQuotaExceededError.isInstance((result as PromiseRejectedResult).reason)),
    ).toBe(true)
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every((event) => event.failureMode === 'open')).toBe(true)

    await server.restart()
    await waitForRedis()
    await call(quota, 'bob')
    await quota.flush()
    // The restarted server lost the 100 before the outage; the 1,000 admitted during it were replayed.
    expect(await quota.status({ user: 'bob' })).toMatchObject([{ used: 1100 }])
  })

  it('replays what the local limiters admitted during the outage into the shared counters, once, and says so', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const replayed: StoreReplayedEvent[] = []
    const processes = ['a', 'b'].map(() =>
      createTokenQuota({
        policies,
        failureMode: 'open',
        now: clock.now,
        store: new RedisStore({ client, prefix: 'replay', timeoutMs: 300 }),
        on: { storeReplayed: (event) => replayed.push(event) },
      }),
    )
    const [a, b] = processes as [ReturnType<typeof createTokenQuota>, ReturnType<typeof createTokenQuota>]
    await server.kill()
    for (let index = 0; index < 3; index += 1) await call(a, 'alice')
    for (let index = 0; index < 2; index += 1) await call(b, 'alice')
    const open = await a.reserve({ user: 'alice' }, { estimate: 80 }) // placed locally, settled after the outage
    expect(await b.status({ user: 'alice' })).toMatchObject([{ used: 200 }]) // each process counted only its own

    await server.restart()
    await waitForRedis()
    await call(a, 'carol') // Redis answers again: A replays at once
    await open.commit({ total: 50 })
    await Promise.all([a.flush(), b.flush()]) // B replays on flush (or its next answer from Redis)
    const truth = createTokenQuota({ policies, now: clock.now, store: new RedisStore({ client, prefix: 'replay' }) })
    expect(await truth.status({ user: 'alice' })).toMatchObject([{ used: 550, reserved: 0 }])
    const total = replayed.flatMap((event) => event.charges).reduce((sum, charge) => sum + charge.amount, 0)
    expect(total).toBe(550)
    expect(replayed.flatMap((event) => event.charges).every((charge) => charge.counter === 'user-daily' && charge.identifier.includes('alice'))).toBe(true)

    // Once: more answers and flushes send nothing again.
    await call(b, 'carol')
    await Promise.all([a.flush(), b.flush()])
    expect(await truth.status({ user: 'alice' })).toMatchObject([{ used: 550 }])
    expect(await truth.status({ user: 'carol' })).toMatchObject([{ used: 200 }])
    expect(replayed.flatMap((event) => event.charges).reduce((sum, charge) => sum + charge.amount, 0)).toBe(550)
  })

  it('fails open fast on a hung Redis: the operations queued behind a timed-out call fail with it', async () => {
    const errors: StoreErrorEvent[] = []
    const quota = createTokenQuota({
      policies,
      failureMode: 'open',
      store: new RedisStore({ client, prefix: 'hung', timeoutMs: 250 }),
      on: { storeError: (event) => errors.push(event) },
    })
    await quota.status({ user: 'warm' }) // the script cache
    const sent = vi.spyOn(client, 'evalsha')
    server.pause()
    try {
      const results = await Promise.allSettled(Array.from({ length: 1024 }, (_, index) => quota.reserve({ user: `u${index}` }, { estimate: 10 })))
      expect(results.every((result) => result.status === 'fulfilled')).toBe(true) // admitted by the local limiter
      // One call timed out and took every queued reservation with it: not one timeout per batch of 128.
      expect(sent.mock.calls.length).toBeLessThanOrEqual(2)
      expect(errors.length).toBe(1024)
    } finally {
      sent.mockRestore()
      server.resume()
    }
    await waitForRedis()
  })

  it('a grant that times out on a paused Redis yet lands is applied once with its audit entry, however often it is retried (issue 27 #9)', async () => {
    const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix: 'admin-retry', timeoutMs: 250 }) })
    await quota.status({ user: 'alice' }) // the script cache
    const grant = { policy: 'user-daily', context: { user: 'alice' }, add: 500, by: 'ops', idempotencyKey: 'ticket-7' }
    server.pause()
    let first: Promise<unknown>
    try {
      first = quota.admin.grant(grant).catch((error: unknown) => error)
      expect(await first).toBeInstanceOf(StoreUnavailableError)
    } finally {
      server.resume()
    }
    await waitForRedis()
    // ioredis sends the paused call once Redis answers again; the operator retries too.
    await quota.admin.grant(grant)
    await quota.admin.grant(grant)
    const [row] = await quota.admin.inspect({ user: 'alice' })
    expect(row).toMatchObject({ allowed: 1500, overrides: [{ kind: 'grant', amount: 500 }] })
    expect((await quota.admin.audit()).map((entry) => [entry.action, entry.amount])).toEqual([['grant', 500]])
  })
})
