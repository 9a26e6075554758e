import { createHash } from 'node:crypto'
import { Redis as IORedis } from 'ioredis'
import { Redis as IORedis5 } from 'ioredis-v5'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkAgainstReferenceModel } from '@tokenquota/test-support/reference-model'
import { TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { describeQuotaStoreContract } from '../testing/store-contract.js'
import { describeStoreAdminContract } from '../testing/store-admin-contract.js'
import { describeStoreCreditsContract } from '../testing/store-contract-credits.js'
import { describeLateSettleAfterUnpaidExpiry } from '../testing/credit-late-settle-contract.js'
import { describeSpillBeyondEstimate } from '../testing/credit-spill-contract.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { usageScripts } from '../reports/redis-usage-store.js'
import { scripts } from './redis/lua/index.js'
import { startRedisServer, type RedisServer } from '@tokenquota/test-support/redis'
import { MemoryStore } from './memory-store.js'
import type { QuotaStore } from './quota-store.js'
import { RedisStore } from './redis-store.js'
import { SyncedStore } from './synced-store.js'

let server: RedisServer
let ioredis: IORedis
let ioredis5: IORedis5
let nodeRedis: ReturnType<typeof createClient>
let prefixes = 0
const alice = { user: 'alice', org: 'acme' }
const threePolicies: QuotaPolicy[] = [
  { name: 'user-minute', type: 'rollingwindow', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'minute' },
  { name: 'org-month', identifier: 'org', allow: 1_000_000, interval: 1, timeUnit: 'month' },
  { name: 'user-flexi', type: 'flexi', identifier: 'user', allow: 50_000, interval: 1, timeUnit: 'day' },
]
const nextPrefix = () => `test${++prefixes}`

beforeAll(async () => {
  server = await startRedisServer()
  // The contract on ioredis 5 connects over TCP, as an app does; the others on the server's Unix
  // socket (cheaper, and the transport is the client's, not the store's).
  ioredis = new IORedis(server.socket)
  ioredis5 = new IORedis5(server.url)
  nodeRedis = createClient({ socket: { path: server.socket, tls: false } })
  await nodeRedis.connect()
})

afterAll(async () => {
  ioredis.disconnect()
  ioredis5.disconnect()
  await nodeRedis.close()
  await server.kill()
})

describeQuotaStoreContract('RedisStore on ioredis 6', { createStore: () => new RedisStore({ client: ioredis, prefix: nextPrefix() }) })
describeLateSettleAfterUnpaidExpiry('RedisStore on ioredis 6', () => new RedisStore({ client: ioredis, prefix: nextPrefix() }))
describeQuotaStoreContract('RedisStore on ioredis 5', { createStore: () => new RedisStore({ client: ioredis5, prefix: nextPrefix() }) })
describeQuotaStoreContract('RedisStore on node-redis', { createStore: () => new RedisStore({ client: nodeRedis, prefix: nextPrefix() }) })
describeStoreAdminContract('RedisStore on ioredis 6', { createStore: () => new RedisStore({ client: ioredis, prefix: nextPrefix() }) })
describeStoreAdminContract('RedisStore on node-redis', { createStore: () => new RedisStore({ client: nodeRedis, prefix: nextPrefix() }) })
describeStoreCreditsContract('RedisStore on ioredis 6', () => new RedisStore({ client: ioredis, prefix: nextPrefix() }))
describeStoreCreditsContract('RedisStore on node-redis', () => new RedisStore({ client: nodeRedis, prefix: nextPrefix() }))
describeStoreCreditsContract('RedisStore with hash tags', () => new RedisStore({ client: ioredis, prefix: nextPrefix(), hashTag: true }))
// Balances are the shared store's: a SyncedStore sends what touches them through, at once.
describeStoreCreditsContract(
  'SyncedStore over RedisStore',
  () => new SyncedStore(new RedisStore({ client: ioredis, prefix: nextPrefix() }), { syncIntervalMs: Number.POSITIVE_INFINITY }),
)
describeSpillBeyondEstimate('RedisStore', () => new RedisStore({ client: ioredis, prefix: nextPrefix() }))
describeSpillBeyondEstimate(
  'SyncedStore over RedisStore',
  (now) => new SyncedStore(new RedisStore({ client: ioredis, prefix: nextPrefix() }), { syncIntervalMs: Number.POSITIVE_INFINITY, now }),
)

describe('RedisStore scripts', () => {
  it('embeds the scripts whose hashes are pinned here (a changed script is a deliberate change), each with its own SHA-1', async () => {
    expect(Object.fromEntries(Object.entries(scripts).map(([name, script]) => [name, script.sha]))).toEqual({
      reserve: 'be4fe5af0bc497160450c0b037eff434fde1572c',
      settle: '842c5d924864a09517b670a2971109e1a9c19cf0',
      read: '7080d02a4ea9d74f6d45d50070339eeaadd457b9',
      extend: 'e0eee3e3559cd8c6809c10f5c8b6b5bb0bd4088a',
      inspectLease: '8c4b14652b4b42b67cb860b2c88a76d69d439387',
      change: 'a41aa4a31c8d01f960048d20a664fa70ba665cc0',
      inspect: '1f7c9fa2aa6ff74d8b2b72d240113cc96734149a',
      reset: '2d2cc35daffa59743ff71f7923bf70f400ff648a',
      audit: '3539ad3a26f834cc1144fb8163db9f3ca759e8a4',
      noteRefusals: 'c1c8430ddb25c0313cbced56c2651943926f37cf',
      writeCredits: '3ece486d7208476eeb5279e10a086a52994b618b',
      readBalances: '0b1725882a7a435c888f233a54fe4ce2ae634dfd',
      readLedger: 'a9b24a571f123c0c162dc55fc2f3f180825301e9',
    })
    for (const script of [...Object.values(scripts), ...Object.values(usageScripts)]) {
      expect(script.sha).toBe(createHash('sha1').update(script.source).digest('hex'))
      expect(await ioredis.script('LOAD', script.source)).toBe(script.sha)
    }
  })
})

/** Script calls the server has run so far. */
async function scriptCalls(): Promise<number> {
  const stats = (await ioredis.info('commandstats')).split('\n')
  const count = (name: string) => Number(/calls=(\d+)/.exec(stats.find((line) => line.startsWith(`cmdstat_${name}:`)) ?? '')?.[1] ?? 0)
  return count('evalsha') + count('eval')
}

describe('RedisStore under the engine', () => {
  it('has the same window semantics as MemoryStore (the reference-model property, on Redis)', async () => {
    await checkAgainstReferenceModel({ createStore: () => new RedisStore({ client: ioredis, prefix: nextPrefix() }), numRuns: 60 })
  }, 30_000) // random sequences: some runs are long, and CI shares two cores

  it('writes exactly the reference model’s charges through SyncedStore, on every window type', async () => {
    const shared = new WeakMap<QuotaStore, RedisStore>()
    const createStore = (now: () => number) => {
      const remote = new RedisStore({ client: ioredis, prefix: nextPrefix() })
      const store = new SyncedStore(remote, { syncIntervalMs: 3_600_000, now })
      shared.set(store, remote)
      return store
    }
    await checkAgainstReferenceModel({ createStore, sharedStoreOf: (store) => shared.get(store)!, numRuns: 40 })
  }, 30_000)

  it('with hashTag and a shardKey (sharded and unsharded callers mixed), the same windows and limits in force as the model', async () => {
    const shardKey = (context: { org?: unknown }) => (typeof context.org === 'string' ? context.org : undefined)
    await checkAgainstReferenceModel({ createStore: () => new RedisStore({ client: ioredis, prefix: nextPrefix(), hashTag: true }), shardKey, numRuns: 40 })
  }, 30_000)

  it('SyncedStore on a sharded RedisStore (hashTag and a shardKey): decides like the model and writes its charges to each shard', async () => {
    const shardKey = (context: { org?: unknown }) => (typeof context.org === 'string' ? context.org : undefined)
    const shared = new WeakMap<QuotaStore, RedisStore>()
    const createStore = (now: () => number) => {
      const remote = new RedisStore({ client: ioredis, prefix: nextPrefix(), hashTag: true })
      const store = new SyncedStore(remote, { syncIntervalMs: 3_600_000, now })
      shared.set(store, remote)
      return store
    }
    await checkAgainstReferenceModel({ createStore, sharedStoreOf: (store) => shared.get(store)!, shardKey, numRuns: 30 })
  }, 30_000)

  it('a grant with a fractional end stored by an earlier version is both enforced and shown, its end rounded up (issue 27 #14)', async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const prefix = nextPrefix()
    const quota = createTokenQuota({
      policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }],
      store: new RedisStore({ client: ioredis, prefix }),
      now: clock.now,
    })
    const end = clock.now() + 3_600_000 + 0.5
    await ioredis.hset(`${prefix}:overrides`, 'user-daily\n=alice\ng', `500 ${end}`)
    const [row] = await quota.admin.inspect({ user: 'alice' })
    expect(row).toMatchObject({ allowed: 1500, overrides: [{ kind: 'grant', amount: 500, until: Math.ceil(end) }] })
    expect((await quota.status({ user: 'alice' }))[0]!.allowed).toBe(1500)
    await quota.reserve({ user: 'alice' }, { estimate: 1500 })
  })

  it('costs one round trip per reserve and one per commit, and survives a script cache flush', async () => {
    const quota = createTokenQuota({ policies: threePolicies, store: new RedisStore({ client: ioredis, prefix: nextPrefix() }) })
    await (await quota.reserve(alice, { estimate: 10 })).commit({ total: 5 }) // warm the script cache
    const before = await scriptCalls()
    const lease = await quota.reserve(alice, { estimate: 10 })
    expect((await scriptCalls()) - before).toBe(1)
    await lease.commit({ total: 5 })
    expect((await scriptCalls()) - before).toBe(2)

    await ioredis.script('FLUSH')
    await (await quota.reserve(alice, { estimate: 10 })).commit({ total: 5 })
    expect(await quota.status(alice)).toMatchObject([{ used: 15 }, { used: 15 }, { used: 15 }])
  })

  it('places concurrent reservations in a few script calls, each one all or nothing on its own', async () => {
    const policies: QuotaPolicy[] = [
      { name: 'org-day', identifier: 'org', allow: 1000, interval: 1, timeUnit: 'day' },
      { name: 'user-day', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' },
    ]
    const quota = createTokenQuota({ policies, store: new RedisStore({ client: ioredis, prefix: nextPrefix() }) })
    await quota.status({ org: 'acme', user: 'u0' }) // warm the script cache
    const before = await scriptCalls()
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, index) => quota.reserve({ org: 'acme', user: `u${index % 20}` }, { estimate: 60 })))
    expect(await scriptCalls()).toBeLessThan(before + 6)
    // 1000 / 60: 16 fit the org; a user fits once (a second 60 would pass 100).
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(16)
    expect(
      results.filter((result) => result.status === 'rejected').every((result) => TokenQuotaExceededError.isInstance((result as PromiseRejectedResult).reason)),
    ).toBe(true)
    const users = await Promise.all(Array.from({ length: 20 }, async (_, index) => (await quota.status({ org: 'acme', user: `u${index}` }))[1]!.reserved))
    expect(users.reduce((sum, reserved) => sum + reserved, 0)).toBe(960) // refused reservations held nothing
    expect(Math.max(...users)).toBe(60)
    expect((await quota.status({ org: 'acme', user: 'u0' }))[0]).toMatchObject({ reserved: 960, used: 0 })
  })

  it('refuses a key prefix with a line break (hold records keep one key per line)', () => {
    expect(() => new RedisStore({ client: ioredis, prefix: 'app\nother' })).toThrow(expect.objectContaining({ code: 'InvalidConfiguration', field: 'prefix' }))
  })

  // Each of these made every call fail at once with StoreUnavailableError (setTimeout fires at once
  // past 2^31-1 ms, and for NaN or a negative): a quota that fails open let every request through.
  it.each([Number.NaN, -5, 0, 2 ** 31, Number.POSITIVE_INFINITY, '1000'])('refuses a `timeoutMs` of %s', (timeoutMs) => {
    expect(() => new RedisStore({ client: ioredis, timeoutMs: timeoutMs as number })).toThrow(
      expect.objectContaining({ code: 'InvalidConfiguration', field: 'timeoutMs' }),
    )
  })

  it('keeps hostile identifiers in safe keys under its prefix, every key with a TTL', async () => {
    const prefix = nextPrefix()
    const quota = createTokenQuota({ policies: threePolicies, store: new RedisStore({ client: ioredis, prefix }) })
    // 256 characters, the most an identifier may have: stored as its digest, the key stays short.
    const identifiers = ['x'.repeat(256), '{}', 'a:b', '*', 'line\nbreak', '{org}:user', 'ключ']
    for (const user of identifiers) await (await quota.reserve({ user, org: 'acme' }, { estimate: 10 })).commit({ total: 7 })
    for (const user of identifiers)
      expect(await quota.status({ user, org: 'acme' })).toMatchObject([{ used: 7 }, { used: 7 * identifiers.length }, { used: 7 }])
    const keys = await ioredis.keys(`${prefix}:*`)
    expect(keys.length).toBeGreaterThan(identifiers.length)
    for (const key of keys) {
      expect(key).toMatch(/^[A-Za-z0-9._~=*#%:-]+$/)
      expect(key.length).toBeLessThan(400)
      expect(await ioredis.pttl(key)).toBeGreaterThan(0)
    }
  })

  it('puts every key of a request in one Cluster slot with a hash tag', async () => {
    const prefix = nextPrefix()
    const quota = createTokenQuota({
      policies: threePolicies,
      shardKey: (context) => context.org as string,
      store: new RedisStore({ client: ioredis, prefix, hashTag: true }),
    })
    const lease = await quota.reserve({ user: 'alice', org: 'acme{1}' }, { estimate: 10 })
    await lease.commit({ total: 4 })
    const keys = await ioredis.keys(`${prefix}:*`)
    const tags = new Set(keys.map((key) => /\{([^}]*)\}/.exec(key)?.[1]))
    expect(tags).toEqual(new Set(['acme%007b1%007d']))
  })

  it('bounds a rolling window to its buckets on Redis, counting as MemoryStore does', async () => {
    const prefix = nextPrefix()
    const run = async (store: QuotaStore) => {
      const clock = createFakeClock('2026-03-01T00:00:00Z')
      const quota = createTokenQuota({
        policies: [{ name: 'rolling', type: 'rollingwindow', identifier: 'user', allow: 1e9, interval: 1, timeUnit: 'hour' }],
        now: clock.now,
        store,
      })
      // 240 calls 31 s apart: two hours, twice the window (600 took 2.5 as long for the same check);
      // with its old buckets kept, the hash holds 188 fields.
      for (let call = 0; call < 240; call += 1) {
        await (await quota.reserve(alice, { estimate: 2 })).commit({ total: 1 })
        clock.advance(31_000)
      }
      return quota.status(alice)
    }
    const [onRedis, inMemory] = [await run(new RedisStore({ client: ioredis, prefix })), await run(new MemoryStore())]
    expect(onRedis).toEqual(inMemory)
    const [hash] = await ioredis.keys(`${prefix}:c:rolling:*:w:*[0-9]`)
    // Live buckets (at most 61), each with a used and a reserved field; the totals U and R, lo and x.
    expect(await ioredis.hlen(hash!)).toBeLessThanOrEqual(2 * 61 + 4)
  })

  describe('retried settles', () => {
    const t0 = Date.UTC(2026, 0, 1)
    const counter = { counter: 'c', identifier: '=a', window: { kind: 'fixed', start: t0, end: t0 + 60_000 } as const, limit: 100, amount: 10, hold: true }

    /** A lease of 10 that expires at t0 + 1 s, and the settle that charges it 8 at `settleAt`. */
    async function leaseOf10(store: RedisStore, settleAt: number) {
      const reserved = await store.reserve({ leaseId: 'lease-1', now: t0, expiresAt: t0 + 1000, counters: [counter] })
      if (!reserved.ok) throw new Error('refused')
      return () =>
        store.settle({
          leaseId: 'lease-1',
          now: settleAt,
          expiresAt: t0 + 1000,
          charges: [{ ...counter, placement: reserved.placements[0]!, held: 10, amount: 8 }],
        })
    }

    it('does not charge a retried settle twice', async () => {
      const store = new RedisStore({ client: ioredis, prefix: nextPrefix() })
      const settle = await leaseOf10(store, t0 + 1)
      expect(await settle()).toEqual([{ usedBefore: 0, usedAfter: 8 }])
      expect(await settle()).toEqual([{ usedBefore: 0, usedAfter: 0 }])
      expect(await store.read({ now: t0 + 2, counters: [counter] })).toMatchObject([{ used: 8, reserved: 0 }])
    })

    it('replaces the expiry charge with a late commit once, even when retried', async () => {
      const store = new RedisStore({ client: ioredis, prefix: nextPrefix() })
      const settle = await leaseOf10(store, t0 + 2000)
      expect(await store.read({ now: t0 + 1500, counters: [counter] })).toMatchObject([{ used: 10, reserved: 0 }]) // the hold expired and was charged
      expect(await settle()).toEqual([{ usedBefore: 10, usedAfter: 8 }])
      expect(await settle()).toEqual([{ usedBefore: 0, usedAfter: 0 }])
      expect(await store.read({ now: t0 + 2001, counters: [counter] })).toMatchObject([{ used: 8, reserved: 0 }])
    })
  })
})
