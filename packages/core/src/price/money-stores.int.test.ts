import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import pg from 'pg'
import { countedPrice } from '@tokenquota/test-support'
import { postgresDatabase } from '@tokenquota/test-support/postgres'
import { createUpstashRestBridge, startRedisServer, upstashUrl, type RedisServer } from '@tokenquota/test-support/redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { InsufficientCreditsError, QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import { MemoryStore } from '../store/memory-store.js'
import { PostgresStore } from '../store/postgres/postgres-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { RedisStore } from '../store/redis-store.js'
import { SyncedStore } from '../store/synced-store.js'
import { UpstashStore } from '../store/upstash-store.js'
import { createFakeClock } from '../testing/fake-clock.js'

let server: RedisServer
let redis: Redis
let bridge: ReturnType<typeof createUpstashRestBridge>
let pool: pg.Pool
let prefixes = 0
beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.socket)
  bridge = createUpstashRestBridge(redis)
  bridge.listen()
  pool = new pg.Pool({ connectionString: await postgresDatabase('money'), max: 4 })
})
afterAll(async () => {
  bridge.close()
  redis.disconnect()
  await Promise.all([server.kill(), pool.end()])
})

/** A Postgres store on its own tables, migrated. */
async function postgresStore(): Promise<QuotaStore> {
  const store = new PostgresStore({ pool, tablePrefix: `money${++prefixes}_` })
  await store.migrate()
  return store
}

const stores: ReadonlyArray<readonly [string, (now: () => number) => QuotaStore | Promise<QuotaStore>]> = [
  ['MemoryStore', () => new MemoryStore()],
  ['RedisStore', () => new RedisStore({ client: redis, prefix: `money${++prefixes}` })],
  ['RedisStore with hashTag', () => new RedisStore({ client: redis, prefix: `money${++prefixes}`, hashTag: true })],
  ['UpstashStore', () => new UpstashStore({ client: new UpstashRedis({ url: upstashUrl, token: 'test-token' }), prefix: `money${++prefixes}` })],
  ['SyncedStore on Redis', (now) => new SyncedStore(new RedisStore({ client: redis, prefix: `money${++prefixes}` }), { syncIntervalMs: 3_600_000, now })],
  ['PostgresStore', postgresStore],
]
const money: QuotaPolicy = { name: 'org-daily-usd', identifier: 'org', count: 'usd', allow: 5, interval: 1, timeUnit: 'day' }
/** A window of $0.50 a day and a dollar balance, pricing calls that name no model at $10 per million tokens. */
const orgDaily: QuotaPolicy = { ...money, allow: 0.5, unpriced: { usdPerMillion: 10 } }
const wallet: QuotaPolicy = { name: 'wallet', type: 'balance', identifier: 'org', count: 'usd', unpriced: { usdPerMillion: 10 } }

/** The error `promise` was refused with, checked to be what `isInstance` says. */
async function refusalOf<T>(promise: Promise<unknown>, isInstance: (error: unknown) => error is T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!isInstance(error)) throw new Error(`expected another refusal, got ${String(error)}`)
  return error
}

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
    const store = await createStore(clock.now)
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
    const store = await createStore(clock.now)
    // An earlier version counted this policy's dollars in micro-dollars, under the policy's bare name: $3 was 3,000,000.
    const earlier = createTokenQuota({ policies: [{ ...money, count: 'total', allow: 10_000_000 }], store, now: clock.now })
    await (await earlier.reserve({ org: 'acme' }, { estimate: 3_000_000 })).commit({ total: 3_000_000 })
    await earlier.flush()
    expect((await earlier.status({ org: 'acme' }))[0]!.used).toBe(3_000_000)
    const quota = createTokenQuota({ policies: [money], store, now: clock.now })
    expect((await quota.status({ org: 'acme' }))[0]).toMatchObject({ used: 0, reserved: 0 })
    await earlier.close()
  })

  it('says what a dollar policy refuses in dollars, as typed, never in counter units (1e-8 dollar)', async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const store = await createStore(clock.now)
    const quota = createTokenQuota({ policies: [orgDaily, wallet], store, now: clock.now })
    const acme = { org: 'acme' }
    await quota.admin.topUp({ policy: 'wallet', context: acme, amount: 2, key: 'pack' })
    await (await quota.reserve(acme, { estimate: 40_000 })).commit({ total: 40_000 }) // $0.40 of $0.50, and of the $2 wallet
    await quota.flush()

    const exceeded = await refusalOf(quota.reserve(acme, { estimate: { input: 20_000, output: 100 } }), TokenQuotaExceededError.isInstance)
    expect(exceeded).toMatchObject({ code: 'TokenQuotaExceeded', policy: 'org-daily-usd', unit: 'usd', limit: 0.5, used: 0.4, requested: 0.201 })
    expect(exceeded.remaining).toBe(0.1)
    expect(exceeded.message).toContain('needs ~$0.201, $0.1 left of $0.5 ($0.4 used, $0 reserved)')

    // The correction the hostile trial sent: a store compares counter units, the operator typed dollars.
    const insufficient = await refusalOf(
      quota.admin.correctCredits({ policy: 'wallet', context: acme, amount: -1.61, key: 'fix' }),
      InsufficientCreditsError.isInstance,
    )
    expect(insufficient).toMatchObject({ code: 'InsufficientCredits', policy: 'wallet', requested: 1.61, balance: 1.6, unit: 'usd' })
    expect(insufficient.message).toBe('policy "wallet": a correction of -$1.61 needs a balance of at least $1.61, the balance is $1.6: nothing changed')

    await quota.admin.correctCredits({ policy: 'wallet', context: acme, amount: -1.59999, key: 'fix-2' }) // $0.00001 left
    const exhausted = await refusalOf(quota.reserve(acme, { estimate: 2 }), TokenQuotaExceededError.isInstance)
    expect(exhausted).toMatchObject({ code: 'CreditsExhausted', policy: 'wallet', unit: 'usd', limit: 0.00001, requested: 0.00002, remaining: 0.00001 })
    expect(exhausted.message).toContain('needs ~$0.00002, $0.00001 left (balance $0.00001, $0 reserved)')

    await quota.admin.topUp({ policy: 'wallet', context: acme, amount: 90_000_000, key: 'big' })
    const tooLarge = await refusalOf(quota.admin.topUp({ policy: 'wallet', context: acme, amount: 1_000_000, key: 'bigger' }), QuotaInputError.isInstance)
    expect(tooLarge).toMatchObject({ code: 'InvalidAdminRequest', policy: 'wallet' })
    expect(tooLarge.message).toBe(
      'policy "wallet": a credit of $1000000 would take the balance of $90000000.00001 past $90071992.54740991, the most a balance holds exactly: nothing changed',
    )
    await quota.close()
  })
})
