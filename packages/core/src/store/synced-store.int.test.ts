import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StoreUnavailableError, TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { describeQuotaStoreContract } from '../testing/store-contract.js'
import { describeStoreAdminContract } from '../testing/store-admin-contract.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { MemoryStore } from './memory-store.js'
import type { QuotaStore } from './quota-store.js'
import { connectFailFast, startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { RedisStore } from './redis-store.js'
import { SyncedStore } from './synced-store.js'

let server: RedisServer
let client: Redis
let prefixes = 0
beforeAll(async () => {
  server = await startRedisServer()
  client = await connectFailFast(server.url)
})
afterAll(async () => {
  client.disconnect()
  await server.kill()
})

// On its own, a synced store behaves like any store.
describeQuotaStoreContract('SyncedStore', {
  createStore: () => new SyncedStore(new MemoryStore(), { syncIntervalMs: 3_600_000 }),
  disposeStore: (store) => (store as SyncedStore).close(),
})
describeStoreAdminContract('SyncedStore on Redis', {
  createStore: () => new SyncedStore(new RedisStore({ client, prefix: `synced-admin${++prefixes}` }), { syncIntervalMs: 3_600_000 }),
  disposeStore: (store) => (store as SyncedStore).close(),
})

const policies: QuotaPolicy[] = [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }]
const spend = async (quota: ReturnType<typeof createTokenQuota>, total: number) =>
  (await quota.reserve({ user: 'alice' }, { estimate: total })).commit({ total })
const evalCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0)

// setInterval runs at once for these, so the store would sync every millisecond (or, for NaN, never).
it.each([Number.NaN, -1, 0, 2 ** 31, '1000'])('SyncedStore refuses a `syncIntervalMs` of %s', (syncIntervalMs) => {
  expect(() => new SyncedStore(new MemoryStore(), { syncIntervalMs: syncIntervalMs as number })).toThrow(
    expect.objectContaining({ code: 'InvalidConfiguration', field: 'syncIntervalMs' }),
  )
})

describe('SyncedStore on Redis (asynchronous counting)', () => {
  it('decides locally, sends charges in batches, and holds the documented overshoot bound', async () => {
    const prefix = `synced${++prefixes}`
    const shared = new RedisStore({ client, prefix })
    const [storeA, storeB] = [new SyncedStore(shared, { syncIntervalMs: 3_600_000 }), new SyncedStore(shared, { syncIntervalMs: 3_600_000 })]
    const [a, b] = [createTokenQuota({ policies, store: storeA }), createTokenQuota({ policies, store: storeB })]
    const truth = createTokenQuota({ policies, store: shared })

    const before = await evalCalls()
    for (let call = 0; call < 8; call += 1) await spend(a, 100)
    for (let call = 0; call < 8; call += 1) await spend(b, 100)
    expect(await evalCalls()).toBe(before) // no call waited for Redis
    // Before a sync, each process knows only its own usage: together they overshoot, within
    // the bound of (N − 1) × allow for N = 2 processes.
    await storeA.sync()
    await storeB.sync()
    const committed = (await truth.status({ user: 'alice' }))[0]!.used
    expect(committed).toBe(1600)
    expect(committed).toBeLessThanOrEqual(1000 + (2 - 1) * 1000)
    // B synced after A's charges arrived, so B knows the total; A learns it at its next sync.
    await expect(spend(b, 1)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    await storeA.sync()
    await expect(spend(a, 1)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    expect(await a.status({ user: 'alice' })).toMatchObject([{ used: 1600 }])
    await Promise.all([storeA.close(), storeB.close()])
  })

  it('flushes after syncMessageCount calls', async () => {
    const prefix = `synced${++prefixes}`
    const shared = new RedisStore({ client, prefix })
    const store = new SyncedStore(shared, { syncIntervalMs: 3_600_000, syncMessageCount: 5 })
    const quota = createTokenQuota({ policies, store })
    const truth = createTokenQuota({ policies, store: shared })
    for (let call = 0; call < 4; call += 1) await spend(quota, 10)
    expect((await truth.status({ user: 'alice' }))[0]!.used).toBe(0)
    await spend(quota, 10)
    await store.sync() // the flush the fifth call started
    expect((await truth.status({ user: 'alice' }))[0]!.used).toBe(50)
    await store.close()
  })

  it('keeps charges through a Redis outage and sends them when it is back', async () => {
    const prefix = `synced${++prefixes}`
    const shared = new RedisStore({ client, prefix, timeoutMs: 300 })
    const errors: unknown[] = []
    const store = new SyncedStore(shared, { syncIntervalMs: 3_600_000, onSyncError: (error) => errors.push(error) })
    const quota = createTokenQuota({ policies, store })
    await spend(quota, 100)
    await server.kill()
    await spend(quota, 200)
    await expect(store.sync()).rejects.toSatisfy(StoreUnavailableError.isInstance)
    expect(errors).toHaveLength(1)
    await server.restart()
    await new Promise((resolve) => client.once('ready', resolve))
    await spend(quota, 300)
    await store.sync()
    const truth = createTokenQuota({ policies, store: shared })
    expect((await truth.status({ user: 'alice' }))[0]!.used).toBe(600)
    await store.close()
  })

  it('charges flexi windows on the shared store: N processes do not get N × allow', async () => {
    const prefix = `synced${++prefixes}`
    const shared = new RedisStore({ client, prefix })
    const flexi: QuotaPolicy[] = [{ name: 'user-flexi', type: 'flexi', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }]
    const [storeA, storeB] = [new SyncedStore(shared, { syncIntervalMs: 3_600_000 }), new SyncedStore(shared, { syncIntervalMs: 3_600_000 })]
    const [a, b] = [createTokenQuota({ policies: flexi, store: storeA }), createTokenQuota({ policies: flexi, store: storeB })]
    await spend(a, 900)
    await spend(b, 900)
    await storeA.sync()
    await storeB.sync()
    expect(await createTokenQuota({ policies: flexi, store: shared }).status({ user: 'alice' })).toMatchObject([{ used: 1800 }])
    await storeA.sync()
    await expect(spend(a, 200)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    await expect(spend(b, 200)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    await Promise.all([storeA.close(), storeB.close()])
  })

  it('sends its pending charges on quota.flush()', async () => {
    const shared = new RedisStore({ client, prefix: `synced${++prefixes}` })
    const store = new SyncedStore(shared, { syncIntervalMs: 3_600_000 })
    const quota = createTokenQuota({ policies, store })
    await spend(quota, 300)
    await quota.flush()
    expect(await createTokenQuota({ policies, store: shared }).status({ user: 'alice' })).toMatchObject([{ used: 300 }])
    await store.close()
  })

  it('charges once a batch whose settle landed but answered too late', async () => {
    const redisStore = new RedisStore({ client, prefix: `synced${++prefixes}` })
    let lateAnswers = 1
    // The shared store as a process sees it when an answer is lost: the settle lands, the call fails.
    const shared: QuotaStore = {
      reserve: (request) => redisStore.reserve(request),
      read: (request) => redisStore.read(request),
      extend: (request) => redisStore.extend(request),
      async settle(request) {
        const outcomes = await redisStore.settle(request)
        if (lateAnswers-- > 0) throw new StoreUnavailableError({ message: 'Redis did not answer the settle script within 1000 ms' })
        return outcomes
      },
    }
    const store = new SyncedStore(shared, { syncIntervalMs: 3_600_000 })
    const quota = createTokenQuota({ policies, store })
    await spend(quota, 300)
    await expect(store.sync()).rejects.toSatisfy(StoreUnavailableError.isInstance)
    await store.sync()
    expect(await createTokenQuota({ policies, store: redisStore }).status({ user: 'alice' })).toMatchObject([{ used: 300 }])
    await store.close()
  })

  it('stops refreshing counters that no process uses any more', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const shared = new RedisStore({ client, prefix: `synced${++prefixes}` })
    const store = new SyncedStore(shared, { syncIntervalMs: 3_600_000, now: clock.now })
    const quota = createTokenQuota({ policies, store, now: clock.now })
    for (let user = 0; user < 50; user += 1) await (await quota.reserve({ user: `u${user}` }, { estimate: 10 })).commit({ total: 5 })
    await store.sync()
    expect(store.trackedCounters).toBe(50)
    clock.advance(24 * 3_600_000) // the day's windows are over
    await (await quota.reserve({ user: 'u0' }, { estimate: 10 })).commit({ total: 5 })
    await store.sync()
    expect(store.trackedCounters).toBe(1)
    await store.close()
  })
})

describe('SyncedStore and operators’ resets (issue 27: a reset made elsewhere)', () => {
  const twoPolicies: QuotaPolicy[] = [
    { name: 'org', allow: 1000, interval: 1, timeUnit: 'day' },
    { name: 'u', identifier: 'user', allow: 500, interval: 1, timeUnit: 'day' },
  ]
  const setUp = () => {
    const clock = createFakeClock('2026-03-01T08:00:00Z')
    const prefix = `synced-reset${++prefixes}`
    const synced = new SyncedStore(new RedisStore({ client, prefix }), { syncIntervalMs: Number.POSITIVE_INFINITY, now: clock.now })
    const app = createTokenQuota({ policies: twoPolicies, store: synced, now: clock.now })
    const ops = createTokenQuota({ policies: twoPolicies, store: new RedisStore({ client, prefix }), now: clock.now })
    return { clock, synced, app, ops }
  }
  const used = async (quota: ReturnType<typeof createTokenQuota>) => (await quota.status({ user: 'alice' })).map((s) => `${s.name}:${s.used}/${s.allowed}`)
  const admitted = async (quota: ReturnType<typeof createTokenQuota>) => {
    for (let calls = 0; calls < 100; calls += 1) {
      try {
        await spend(quota, 100)
      } catch (error) {
        if (TokenQuotaExceededError.isInstance(error)) return calls
        throw error
      }
    }
    return 100
  }

  it('adopts at its next sync a reset made through another process, and keeps the charges it had not sent', async () => {
    const { synced, app, ops } = setUp()
    for (let call = 0; call < 4; call += 1) await spend(app, 100)
    await ops.admin.grant({ policy: 'u', context: { user: 'alice' }, add: 300 })
    await synced.sync()
    expect(await used(app)).toEqual(['org:400/1000', 'u:400/800'])
    await ops.admin.reset({ policy: 'u', context: { user: 'alice' } })
    await spend(app, 100) // made before the app learns of the reset: it lands after it
    await synced.sync()
    expect(await used(ops)).toEqual(['org:500/1000', 'u:100/800'])
    expect(await used(app)).toEqual(['org:500/1000', 'u:100/800'])
    await spend(app, 100) // not sent yet: counted here at once
    expect(await used(app)).toEqual(['org:600/1000', 'u:200/800'])
    await synced.sync()
    expect(await used(app)).toEqual(['org:600/1000', 'u:200/800'])
    expect(await admitted(app)).toBe(4) // org: 1000 − 600
    await synced.sync()
    expect(await used(ops)).toEqual(['org:1000/1000', 'u:600/800'])
    await synced.close()
  })

  it('adopts a reset made elsewhere even when other processes spent more than it had since', async () => {
    const { synced, app, ops } = setUp()
    for (let call = 0; call < 4; call += 1) await spend(app, 100)
    await synced.sync()
    await ops.admin.reset({ policy: 'u', context: { user: 'alice' } })
    await spend(ops, 100)
    await synced.sync()
    expect(await used(app)).toEqual(await used(ops))
    expect(await used(app)).toEqual(['org:500/1000', 'u:100/500'])
    expect(await admitted(app)).toBe(4)
    await synced.close()
  })

  it('keeps a grant made elsewhere through its own reset and the syncs after it', async () => {
    const { synced, app, ops } = setUp()
    for (let call = 0; call < 4; call += 1) await spend(app, 100)
    await ops.admin.grant({ policy: 'u', context: { user: 'alice' }, add: 300 })
    await synced.sync()
    await app.admin.reset({ policy: 'u', context: { user: 'alice' } })
    await synced.sync()
    expect(await used(app)).toEqual(['org:400/1000', 'u:0/800'])
    expect(await admitted(app)).toBe(6) // org: 1000 − 400
    expect(await used(app)).toEqual(['org:1000/1000', 'u:600/800'])
    await synced.close()
  })
})
