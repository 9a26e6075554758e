import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import { countedPrice } from '@tokenquota/test-support'
import { createUpstashRestBridge, startRedisServer, upstashUrl, type RedisServer } from '@tokenquota/test-support/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { RedisStore } from '../store/redis-store.js'
import { SyncedStore } from '../store/synced-store.js'
import { UpstashStore } from '../store/upstash-store.js'
import { createFakeClock } from '../testing/fake-clock.js'

let server: RedisServer
let redis: Redis
let bridge: ReturnType<typeof createUpstashRestBridge>
let prefixes = 0
beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.url)
  bridge = createUpstashRestBridge(redis)
  bridge.listen()
})
afterAll(async () => {
  bridge.close()
  redis.disconnect()
  await server.kill()
})

const stores: ReadonlyArray<readonly [string, (now: () => number) => QuotaStore]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: `money${++prefixes}` })],
  ['RedisStore with hashTag', () => new RedisStore({ client: redis, prefix: `money${++prefixes}`, hashTag: true })],
  ['UpstashStore', () => new UpstashStore({ client: new UpstashRedis({ url: upstashUrl, token: 'test-token' }), prefix: `money${++prefixes}` })],
  ['SyncedStore on Redis', (now) => new SyncedStore(new RedisStore({ client: redis, prefix: `money${++prefixes}` }), { syncIntervalMs: 3_600_000, now })],
]
const money: QuotaPolicy = { name: 'org-daily-usd', identifier: 'org', count: 'usd', allow: 5, interval: 1, timeUnit: 'day' }
/** Small calls, where rounding shows: a few tokens of cheap models. */
const calls = [
  { model: 'gpt-4o-mini', input: 27, output: 9 },
  { model: 'gpt-4.1-nano', input: 3, output: 1 },
  { model: 'gemini-2.5-flash', input: 11, output: 2 },
  { model: 'claude-haiku-4-5', input: 7, output: 5 },
  { model: 'gpt-4o', input: 1234, output: 56 },
] as const

describe.each(stores)('money counters on %s', (_name, createStore) => {
  it('hold the sum of the charges, each within 10 n$ of its table price: the same on every store', async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const store = createStore(clock.now)
    const quota = createTokenQuota({ policies: [money], store, now: clock.now })
    let expected = 0
    for (const { model, input, output } of calls) {
      await (await quota.reserve({ org: 'acme' }, { estimate: { input, output }, model })).commit({ input, output })
      expected += Math.round(countedPrice(model, { input, output }, { at: clock.now() }) * 1e8)
    }
    await quota.flush()
    const [status] = await quota.status({ org: 'acme' })
    expect(Math.round(status!.used * 1e8)).toBe(expected)
    expect(status!.reserved).toBe(0)
    await quota.close()
  })

  it("never reads an earlier version's micro-dollar counter as units of ten nano-dollars", async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const store = createStore(clock.now)
    // An earlier version counted this policy's dollars in micro-dollars, under the policy's bare name: $3 was 3,000,000.
    const earlier = createTokenQuota({ policies: [{ ...money, count: 'total', allow: 10_000_000 }], store, now: clock.now })
    await (await earlier.reserve({ org: 'acme' }, { estimate: 3_000_000 })).commit({ total: 3_000_000 })
    await earlier.flush()
    expect((await earlier.status({ org: 'acme' }))[0]!.used).toBe(3_000_000)
    const quota = createTokenQuota({ policies: [money], store, now: clock.now })
    expect((await quota.status({ org: 'acme' }))[0]).toMatchObject({ used: 0, reserved: 0 })
    await earlier.close()
  })
})
