import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { RedisStore } from '../store/redis-store.js'
import { createFakeClock } from '../testing/fake-clock.js'
import type { WarningEvent } from './events.js'
import { createTokenQuota } from './token-quota.js'

// An anchor stored per identifier (`quota.admin.setAnchor`) by one process serves every process on
// the store, for requests whose context has no anchor.
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

const year = new Date(createFakeClock().now()).getUTCFullYear() + 1
const plan: QuotaPolicy = { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', anchor: 'subscribedAt', timeZone: 'Asia/Tokyo' }
const stores: Array<[string, () => QuotaStore]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: `anchors${++prefixes}`, timeoutMs: 10_000 })],
]

describe.each(stores)('%s', (_, createStore) => {
  it('setAnchor keeps a caller’s anchor for every process; a context anchor wins; replays apply once', async () => {
    const clock = createFakeClock(Date.UTC(year, 5, 20))
    const store = createStore()
    const warnings: WarningEvent[] = []
    const admin = createTokenQuota({ policies: [plan], store, now: clock.now })
    const app = createTokenQuota({ policies: [plan], store, now: clock.now, on: { warning: (event) => warnings.push(event) } })
    const bob = { user: 'bob' }
    const set = { policy: 'plan', context: bob, anchor: `${year - 2}-03-15`, by: 'billing', idempotencyKey: 'sub_123' }
    expect(await admin.admin.setAnchor(set)).toEqual({ replayed: false })
    expect(await admin.admin.setAnchor(set)).toEqual({ replayed: true })
    await expect(admin.admin.setAnchor({ ...set, anchor: `${year - 2}-03-16` })).rejects.toMatchObject({ code: 'IdempotencyKeyReused' })

    await (await app.reserve(bob, { estimate: 30 })).commit({ total: 30 })
    // Tokyo midnight of 15 June is 15:00 UTC on the 14th.
    const [cycle] = await app.status(bob)
    expect([cycle!.windowStart, cycle!.resetAt, cycle!.used]).toEqual([Date.UTC(year, 5, 14, 15), Date.UTC(year, 6, 14, 15), 30])
    expect((await app.admin.inspect(bob))[0]).toMatchObject({ windowStart: Date.UTC(year, 5, 14, 15), used: 30 })
    expect(warnings).toEqual([])
    const [withContext] = await app.status({ ...bob, subscribedAt: `${year}-01-01` })
    expect(withContext!.windowStart).toBe(Date.UTC(year, 4, 31, 15))

    expect((await admin.admin.audit(1))[0]).toMatchObject({
      action: 'anchor',
      policy: 'plan',
      identifier: 'bob',
      by: 'billing',
      reason: `billing cycles from ${year - 2}-03-15`,
    })
    // The reset an operator asks for is the caller's own cycle.
    await admin.admin.reset({ policy: 'plan', context: bob, by: 'ops' })
    expect((await app.status(bob))[0]!.used).toBe(0)
  })

  it('refuses an anchor for a policy without billing cycles, and one that is not a date', async () => {
    const quota = createTokenQuota({ policies: [plan, { name: 'daily', identifier: 'user', allow: 5, interval: 1, timeUnit: 'day' }], store: createStore() })
    await expect(quota.admin.setAnchor({ policy: 'daily', context: { user: 'bob' }, anchor: '2020-01-01' })).rejects.toMatchObject({
      code: 'InvalidAdminRequest',
    })
    await expect(quota.admin.setAnchor({ policy: 'plan', context: { user: 'bob' }, anchor: 'someday' })).rejects.toMatchObject({ code: 'InvalidAnchor' })
    await expect(quota.admin.setAnchor({ policy: 'plan', context: {}, anchor: '2020-01-01' })).rejects.toMatchObject({ code: 'UnresolvedIdentifier' })
  })
})
