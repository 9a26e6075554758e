import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectFailFast, startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import type { QuotaPolicy } from '../policy/policy-types.js'
import type { QuotaContext } from '../shared/types.js'
import { QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { RedisStore } from './redis-store.js'
import type { QuotaStore } from './quota-store.js'
import { SyncedStore } from './synced-store.js'

// Redis with `hashTag` + `shardKey`: every key of a request lives in its shard's slot, and every
// store (direct, batched, synced) must read and write the same keys for the same caller.
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

const policies: QuotaPolicy[] = [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }]
const shardKey = (context: QuotaContext) => context.org as string | undefined
const spend = async (quota: ReturnType<typeof createTokenQuota>, context: QuotaContext, total: number) =>
  (await quota.reserve(context, { estimate: total })).commit({ total })

function sharded(prefix: string) {
  return new RedisStore({ client, prefix, hashTag: true })
}

describe('Redis with hashTag + shardKey, sharded and unsharded callers mixed', () => {
  it('SyncedStore writes, reads and takes overrides in each request’s shard, as a RedisStore process on that shard sees them', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const prefix = `shards${++prefixes}`
    const shared = sharded(prefix)
    const store = new SyncedStore(shared, { syncIntervalMs: 3_600_000, now: clock.now })
    const synced = createTokenQuota({ policies, shardKey, store, now: clock.now })
    const direct = createTokenQuota({ policies, shardKey, store: shared, now: clock.now })
    const [alice, bob] = [{ user: 'alice', org: 'acme' }, { user: 'bob' }]

    await spend(synced, alice, 400)
    await spend(synced, bob, 300)
    await store.sync()
    expect(await direct.status(alice)).toMatchObject([{ used: 400 }])
    expect(await direct.status(bob)).toMatchObject([{ used: 300 }])

    // The others' usage comes back from the right shard too.
    await spend(direct, alice, 500)
    await store.sync()
    expect(await synced.status(alice)).toMatchObject([{ used: 900 }])
    await expect(spend(synced, alice, 200)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)

    // An operator's grant, written in alice's shard, reaches SyncedStore's decisions after a sync.
    await direct.admin.grant({ policy: 'user-daily', context: alice, add: 1000 })
    await store.sync()
    await spend(synced, alice, 1000)
    await store.sync()
    expect((await direct.admin.inspect(alice))[0]).toMatchObject({ used: 1900 })
    await store.close()
  })

  it('SyncedStore keeps each shard’s counters, holds and resets apart locally: the same counter in two shards never adds up', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const pooled: QuotaPolicy[] = [...policies, { name: 'pool-daily', allow: 1000, interval: 1, timeUnit: 'day' }]
    const store = new SyncedStore(sharded(`shards${++prefixes}`), { syncIntervalMs: 3_600_000, now: clock.now })
    const quota = createTokenQuota({ policies: pooled, shardKey, store, now: clock.now })
    const [acme, beta, loner, empty] = [{ user: 'alice', org: 'acme' }, { user: 'alice', org: 'beta' }, { user: 'bob' }, { user: 'bob', org: '' }]

    // Before any sync: each shard's local counters only.
    await spend(quota, acme, 450)
    expect(await quota.status(loner)).toMatchObject([{ used: 0 }, { used: 0 }])
    expect(await quota.status(beta)).toMatchObject([{ used: 0 }, { used: 0 }])
    const held = await quota.reserve(beta, { estimate: 300 })
    expect(await quota.status(acme)).toMatchObject([
      { used: 450, reserved: 0 },
      { used: 450, reserved: 0 },
    ])
    await held.commit({ total: 300 })
    // Shard '' and no shard are one slot on Redis, so one counter locally too.
    await spend(quota, empty, 100)
    expect(await quota.status(loner)).toMatchObject([{ used: 100 }, { used: 100 }])

    // A reset in one shard, even under an idempotency key used in another, leaves the other's usage.
    await quota.admin.reset({ policy: 'user-daily', context: acme, idempotencyKey: 'k1' })
    await quota.admin.reset({ policy: 'user-daily', context: beta, idempotencyKey: 'k1' })
    expect(await quota.status(acme)).toMatchObject([{ used: 0 }, { used: 450 }])
    await store.sync()
    expect(await quota.status(acme)).toMatchObject([{ used: 0 }, { used: 450 }])
    expect(await quota.status(beta)).toMatchObject([{ used: 0 }, { used: 300 }])
    expect(await quota.status(loner)).toMatchObject([{ used: 100 }, { used: 100 }])
    await store.close()
  })

  it('writes a class-wide override in the shard the operator names, where that shard’s callers see it; without a context it refuses', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const plans: QuotaPolicy[] = [
      {
        name: 'plan-daily',
        identifier: 'user',
        allow: { class: (context) => context.plan as string, counts: { free: 100, pro: 1000 } },
        interval: 1,
        timeUnit: 'day',
      },
    ]
    const stores: QuotaStore[] = [
      sharded(`shards${++prefixes}`),
      new SyncedStore(sharded(`shards${++prefixes}`), { syncIntervalMs: 3_600_000, now: clock.now }),
    ]
    for (const store of stores) {
      const quota = createTokenQuota({ policies: plans, shardKey, store, now: clock.now })
      const [acme, loner] = [
        { user: 'alice', org: 'acme', plan: 'free' },
        { user: 'bob', plan: 'free' },
      ]
      await expect(quota.admin.grant({ policy: 'plan-daily', class: 'free', add: 400 })).rejects.toSatisfy(QuotaInputError.isInstance)
      await quota.admin.grant({ policy: 'plan-daily', class: 'free', context: { org: 'acme' }, add: 400 })
      await quota.admin.grant({ policy: 'plan-daily', class: 'free', context: {}, add: 200 })
      await spend(quota, acme, 500)
      await expect(spend(quota, acme, 1)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
      await spend(quota, loner, 300)
      await expect(spend(quota, loner, 1)).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
      await store.close?.()
    }
  })

  it('never batches callers of different slots together: shard "" and no shard are one slot, and no hold is left behind', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const prefix = `shards${++prefixes}`
    const quota = createTokenQuota({ policies, shardKey, store: sharded(prefix), now: clock.now })
    const callers = Array.from({ length: 24 }, (_, index) =>
      index % 3 === 0 ? { user: 'alice', org: '' } : index % 3 === 1 ? { user: 'alice' } : { user: 'alice', org: 'acme' },
    )
    const results = await Promise.allSettled(callers.map((context) => spend(quota, context, 100)))
    const admitted = results.filter((result) => result.status === 'fulfilled').length
    expect(results.every((result) => result.status === 'fulfilled' || TokenQuotaExceededError.isInstance(result.reason))).toBe(true)
    await quota.flush()
    // alice without a shard and with '' is one counter; in acme, another.
    const [plain, empty, acme] = await Promise.all([
      quota.status({ user: 'alice' }),
      quota.status({ user: 'alice', org: '' }),
      quota.status({ user: 'alice', org: 'acme' }),
    ])
    expect(plain).toEqual(empty)
    expect(plain[0]).toMatchObject({ used: 1000, reserved: 0 })
    expect(acme[0]).toMatchObject({ used: 800, reserved: 0 })
    expect(admitted).toBe(18)
    // Every key carries a non-empty hash tag (`{}` is none: its keys would spread over slots).
    const keys = await client.keys(`${prefix}:*`)
    expect(keys.every((key) => /^[^{]*\{[^}]+\}/.test(key))).toBe(true)
    const holds = await Promise.all(keys.filter((key) => key.endsWith(':holds')).map((key) => client.zcard(key)))
    expect(holds.every((count) => count === 0)).toBe(true)
  })
})
