import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUpstashRestBridge, startRedisServer, upstashUrl, type RedisServer } from '@tokenquota/test-support/redis'
import { createTokenQuota } from '../engine/token-quota.js'
import type { WarningEvent } from '../engine/events.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { QuotaInputError } from '../shared/errors.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { MemoryStore } from './memory-store.js'
import type { BalanceRef, StoreCredits } from './credit-protocol.js'
import type { CounterRequest, QuotaStore, ReserveResult } from './quota-store.js'
import { RedisStore } from './redis-store.js'
import { SyncedStore } from './synced-store.js'
import { UpstashStore } from './upstash-store.js'

// What only the Lua stores can get wrong about balances: expiry inside another script, keys without
// a TTL, ledger rows written by any script. The shared credits contract runs on every store too.

let server: RedisServer
let client: Redis
let nodeRedis: ReturnType<typeof createClient>
let bridge: ReturnType<typeof createUpstashRestBridge>
let prefixes = 0
const minute = 60_000
const t0 = Date.UTC(2030, 0, 1)
const balance = { kind: 'balance' } as const
const alice: BalanceRef = { counter: 'credits', identifier: '=alice' }

beforeAll(async () => {
  server = await startRedisServer()
  client = new Redis(server.socket)
  nodeRedis = createClient({ socket: { path: server.socket, tls: false } })
  await nodeRedis.connect()
  bridge = createUpstashRestBridge(client)
  bridge.listen()
})
afterAll(async () => {
  bridge.close()
  await nodeRedis.close()
  client.disconnect()
  await server.kill()
})

type CreditStore = QuotaStore & { credits: StoreCredits; keyPattern: string }

const clients = {
  'RedisStore on ioredis': (options: { hashTag?: boolean }) => new RedisStore({ client, prefix: `rc${++prefixes}`, ...options }),
  'RedisStore on node-redis': (options: { hashTag?: boolean }) => new RedisStore({ client: nodeRedis, prefix: `rc${++prefixes}`, ...options }),
  'UpstashStore over REST': (options: { hashTag?: boolean }) =>
    new UpstashStore({ client: new UpstashRedis({ url: upstashUrl, token: 'test-token' }), prefix: `rc${++prefixes}`, ...options }),
}
let createStore = clients['RedisStore on ioredis']

function storeWithCredits(options: { hashTag?: boolean } = {}): CreditStore {
  const store = createStore(options)
  if (!store.credits) throw new Error('the store has no credits')
  return store as CreditStore
}

function onBalance(amount: number, overrides: Partial<CounterRequest> = {}): CounterRequest {
  return { ...alice, window: balance, amount, hold: true, ...overrides }
}

function held(result: ReserveResult): Extract<ReserveResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the reservation to hold, got ${JSON.stringify(result)}`)
  return result
}

async function ledgerSum(store: QuotaStore & { credits: StoreCredits }, ref: BalanceRef = alice): Promise<number> {
  const rows = await store.credits.readLedger({ ...ref, limit: 1000 })
  return rows.reduce((sum, row) => sum + row.amount, 0)
}

describe.each(Object.entries(clients))('%s credits', (_, create) => {
  beforeAll(() => {
    createStore = create
  })
  it('holds on a balance up to its grants, refuses above them (retryAt never), and settles from grants in spending order with one charge row', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'pay-a', change: { kind: 'topup', amount: 1000, expiresAt: t0 + 10 * minute } })
    await store.credits.writeCredits({ ...alice, now: t0, key: 'pay-b', change: { kind: 'topup', amount: 500 } })
    const first = held(await store.reserve({ leaseId: 'l1', now: t0, expiresAt: t0 + minute, counters: [onBalance(1200)], record: '{"who":"alice"}' }))
    expect(first.snapshots[0]).toMatchObject({ used: 0, reserved: 1200, limit: 1500, windowStart: 0, resetAt: Number.MAX_SAFE_INTEGER })
    const refused = await store.reserve({ leaseId: 'l2', now: t0, expiresAt: t0 + minute, counters: [onBalance(301)] })
    expect(refused).toMatchObject({ ok: false, refusals: [{ index: 0, retryAt: Number.MAX_SAFE_INTEGER, snapshot: { reserved: 1200, limit: 1500 } }] })

    const outcomes = await store.settle({
      leaseId: 'l1',
      now: t0 + 1,
      expiresAt: t0 + minute,
      charges: [{ ...alice, window: balance, placement: 0, held: 1200, amount: 1100 }],
    })
    expect(outcomes[0]).toMatchObject({ balanceBefore: 1500, balanceAfter: 400, unpaid: 0 })
    const rows = await store.credits.readLedger({ ...alice, limit: 10 })
    expect(rows.map(({ seq, kind, amount, balanceAfter }) => [seq, kind, amount, balanceAfter])).toEqual([
      [1, 'topup', 1000, 1000],
      [2, 'topup', 500, 1500],
      [3, 'charge', -1100, 400],
    ])
    expect(rows[2]).toMatchObject({
      leaseId: 'l1',
      record: '{"who":"alice"}',
      drawn: [
        { grant: 'pay-a', amount: 1000 },
        { grant: 'pay-b', amount: 100 },
      ],
    })
    const [state] = await store.credits.readBalances({ now: t0 + 2, balances: [alice] })
    expect(state).toMatchObject({ balance: 400, reserved: 0, grants: [{ key: 'pay-b', remaining: 400, amount: 500, priority: 50 }] })
    expect(await ledgerSum(store)).toBe(400)
  })

  it('expires a grant lazily with one expiry row, reported once: by the call that recorded it', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'a', change: { kind: 'topup', amount: 1000, expiresAt: t0 + minute } })
    await store.credits.writeCredits({ ...alice, now: t0, key: 'b', change: { kind: 'topup', amount: 500 } })
    const reserve = (leaseId: string, now: number) => store.reserve({ leaseId, now, expiresAt: now + minute, counters: [onBalance(100)] })
    held(await reserve('e1', t0))
    await store.settle({ leaseId: 'e1', now: t0, expiresAt: t0 + minute, charges: [{ ...alice, window: balance, placement: 0, held: 100, amount: 100 }] })
    const after = held(await reserve('e2', t0 + minute))
    expect(after.snapshots[0]!.expired).toMatchObject([{ kind: 'expiry', amount: -900, grant: 'a', balanceAfter: 500 }])
    expect(after.snapshots[0]).toMatchObject({ limit: 500, reserved: 100 })
    const again = held(await reserve('e3', t0 + minute + 1))
    expect(again.snapshots[0]!.expired ?? []).toEqual([])
    const [state] = await store.credits.readBalances({ now: t0 + minute + 2, balances: [alice] })
    expect(state).toMatchObject({ balance: 500, reserved: 200 })
    expect(state!.expired ?? []).toEqual([])
    expect(await ledgerSum(store)).toBe(500)
  })

  it('a hold on a balance that expires inside another script (a read of another counter) is charged from the grants with a charge row there', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'a', change: { kind: 'topup', amount: 300 } })
    held(await store.reserve({ leaseId: 'lost', now: t0, expiresAt: t0 + minute, counters: [onBalance(200)], record: 'rec' }))
    const other: CounterRequest = {
      counter: 'daily',
      identifier: '=bob',
      window: { kind: 'fixed', start: t0, end: t0 + 60 * minute },
      limit: 10,
      amount: 1,
      hold: true,
    }
    await store.read({ now: t0 + minute, counters: [other] })
    const rows = await store.credits.readLedger({ ...alice, limit: 10 })
    expect(rows.at(-1)).toMatchObject({ kind: 'charge', amount: -200, balanceAfter: 100, leaseId: 'lost', record: 'rec' })
    expect(await store.inspectLease!({ leaseId: 'lost', now: t0 + minute })).toMatchObject({ state: 'charged' })

    // Its late settle for less gives the difference back (a refund row); for more it charges the rest.
    const late = await store.settle({
      leaseId: 'lost',
      now: t0 + 2 * minute,
      expiresAt: t0 + minute,
      charges: [{ ...alice, window: balance, placement: 0, held: 200, amount: 50 }],
    })
    expect(late[0]).toMatchObject({ balanceBefore: 100, balanceAfter: 250 })
    expect((await store.credits.readLedger({ ...alice, after: 2, limit: 10 })).map(({ kind, amount }) => [kind, amount])).toEqual([['refund', 150]])
    const [state] = await store.credits.readBalances({ now: t0 + 2 * minute, balances: [alice] })
    expect(state).toMatchObject({ balance: 250, reserved: 0, grants: [{ key: 'a', remaining: 250 }] })
    expect(await ledgerSum(store)).toBe(250)
  })

  it('a late settle pays what its lease used less what its expiry paid: credits its expiry left unpaid are never refunded', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'short', change: { kind: 'topup', amount: 100, expiresAt: t0 + 500 } })
    held(await store.reserve({ leaseId: 'unpaid', now: t0, expiresAt: t0 + 1000, counters: [onBalance(80)] }))
    // At t0 + 1000 the grant is gone, then the hold expires: charged 80, all of it unpaid.
    await store.credits.readBalances({ now: t0 + 1000, balances: [alice] })
    await store.credits.writeCredits({ ...alice, now: t0 + 1001, key: 'pack', change: { kind: 'topup', amount: 50 } })
    const [late] = await store.settle({
      leaseId: 'unpaid',
      now: t0 + 2000,
      expiresAt: t0 + 1000,
      charges: [{ ...alice, window: balance, placement: 0, held: 80, amount: 10 }],
    })
    expect(late).toMatchObject({ balanceBefore: 50, balanceAfter: 40 })
    const rows = await store.credits.readLedger({ ...alice, limit: 10 })
    expect(rows.map(({ kind, amount, unpaid }) => [kind, amount, unpaid])).toEqual([
      ['topup', 100, undefined],
      ['expiry', -100, undefined],
      ['charge', 0, 80],
      ['topup', 50, undefined],
      ['charge', -10, undefined],
    ])
    expect(await ledgerSum(store)).toBe(40)
  })

  it('never goes below zero: what the grants cannot pay is unpaid, in the row and the outcome', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'a', change: { kind: 'topup', amount: 100 } })
    held(await store.reserve({ leaseId: 'over', now: t0, expiresAt: t0 + minute, counters: [onBalance(100)] }))
    const [outcome] = await store.settle({
      leaseId: 'over',
      now: t0,
      expiresAt: t0 + minute,
      charges: [{ ...alice, window: balance, placement: 0, held: 100, amount: 130 }],
    })
    expect(outcome).toMatchObject({ balanceBefore: 100, balanceAfter: 0, unpaid: 30 })
    expect((await store.credits.readLedger({ ...alice, after: 1, limit: 10 }))[0]).toMatchObject({ kind: 'charge', amount: -100, unpaid: 30, balanceAfter: 0 })
  })

  it('tops up once per key forever; the same key with another change is refused and changes nothing', async () => {
    const store = storeWithCredits()
    const write = (amount: number) => store.credits.writeCredits({ ...alice, now: t0, key: 'evt_1', change: { kind: 'topup', amount }, by: 'stripe' })
    expect(await write(500)).toMatchObject({ applied: true, balance: { balance: 500 } })
    expect(await write(500)).toMatchObject({ applied: false, balance: { balance: 500 } })
    await expect(write(600)).rejects.toMatchObject({ code: 'IdempotencyKeyReused' })
    expect(await store.credits.readLedger({ ...alice, limit: 10 })).toMatchObject([{ seq: 1, kind: 'topup', amount: 500, grant: 'evt_1', by: 'stripe' }])
  })

  it('refuses a negative correction the balance cannot cover (InsufficientCredits), and bad writes, changing nothing', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'a', change: { kind: 'topup', amount: 100 } })
    const refused = store.credits.writeCredits({ ...alice, now: t0, key: 'fix', change: { kind: 'correction', amount: -101 } })
    await expect(refused).rejects.toSatisfy((error) => QuotaInputError.isInstance(error) && error.code === 'InsufficientCredits')
    for (const change of [
      { kind: 'topup', amount: 0 },
      { kind: 'topup', amount: 1.5 },
      { kind: 'topup', amount: 10, priority: 101 },
      { kind: 'topup', amount: 10, expiresAt: t0 },
      { kind: 'correction', amount: 0 },
    ] as const) {
      await expect(store.credits.writeCredits({ ...alice, now: t0, key: `bad-${JSON.stringify(change)}`, change })).rejects.toSatisfy(
        QuotaInputError.isInstance,
      )
    }
    expect(await store.credits.writeCredits({ ...alice, now: t0, key: 'fix', change: { kind: 'correction', amount: -40 } })).toMatchObject({
      applied: true,
      balance: { balance: 60 },
    })
    expect(await ledgerSum(store)).toBe(60)
  })

  it('fills a group: an allowance of 100 spilling into 50 credits holds 100 + 20 for 120, then refuses 40 with 30 left', async () => {
    const store = storeWithCredits()
    await store.credits.writeCredits({ ...alice, now: t0, key: 'pack', change: { kind: 'topup', amount: 50 } })
    const plan = (amount: number): CounterRequest => ({
      counter: 'plan',
      identifier: '=alice',
      window: { kind: 'fixed', start: t0, end: t0 + 60 * minute },
      limit: 100,
      amount,
      hold: true,
      group: 'g',
    })
    const first = held(await store.reserve({ leaseId: 's1', now: t0, expiresAt: t0 + minute, counters: [plan(120), onBalance(120, { group: 'g' })] }))
    expect(first.held).toEqual([100, 20])
    await store.settle({
      leaseId: 's1',
      now: t0,
      expiresAt: t0 + minute,
      charges: [
        { ...plan(0), placement: first.placements[0]!, held: 100, amount: 100 },
        { ...alice, window: balance, placement: 0, held: 20, amount: 20 },
      ],
    })
    const second = await store.reserve({ leaseId: 's2', now: t0, expiresAt: t0 + minute, counters: [plan(40), onBalance(40, { group: 'g' })] })
    expect(second).toMatchObject({ ok: false, refusals: [{ index: 1, snapshot: { limit: 30 } }] })
  })

  it('keeps every balance key without a TTL (paid credits never leave by eviction), under hash tags too', async () => {
    for (const hashTag of [false, true]) {
      const store = storeWithCredits({ hashTag })
      const shard = 'acme'
      await store.credits.writeCredits({ ...alice, shard, now: t0, key: 'a', change: { kind: 'topup', amount: 100, expiresAt: t0 + 60 * minute } })
      held(await store.reserve({ leaseId: 'ttl', shard, now: t0, expiresAt: t0 + minute, counters: [onBalance(10)] }))
      await store.settle({
        leaseId: 'ttl',
        shard,
        now: t0,
        expiresAt: t0 + minute,
        charges: [{ ...alice, window: balance, placement: 0, held: 10, amount: 10 }],
      })
      const keys = (await client.keys(store.keyPattern)).filter((key) => key.includes(':c:credits:'))
      expect(keys.length).toBe(4)
      for (const key of keys) expect(await client.pttl(key)).toBe(-1)
      if (hashTag) expect(keys.every((key) => key.includes('{acme}'))).toBe(true)
    }
  })
})

describe('SyncedStore over RedisStore: balances are never counted locally', () => {
  it('sends a reservation and a settle that touch a balance through at once; its credits and balance reads are the shared store’s', async () => {
    const shared = storeWithCredits()
    const synced = new SyncedStore(shared, { syncIntervalMs: Number.POSITIVE_INFINITY })
    const other = new SyncedStore(shared, { syncIntervalMs: Number.POSITIVE_INFINITY })
    expect(synced.credits).toBe(shared.credits)
    expect(synced.creditDurability).toBe('volatile')
    await shared.credits.writeCredits({ ...alice, now: t0, key: 'pack', change: { kind: 'topup', amount: 100 } })
    const plan = (amount: number): CounterRequest => ({
      counter: 'plan',
      identifier: '=alice',
      window: { kind: 'fixed', start: t0, end: t0 + 60 * minute },
      limit: 10,
      amount,
      hold: true,
      group: 'g',
    })
    const first = held(await synced.reserve({ leaseId: 'p1', now: t0, expiresAt: t0 + minute, counters: [plan(70), onBalance(70, { group: 'g' })] }))
    expect(first.held).toEqual([10, 60])
    // Another process sees the hold on the balance at once, without a sync: 40 fit, 41 do not.
    expect(await other.read({ now: t0, counters: [plan(0), onBalance(0)] })).toMatchObject([{ used: 0 }, { reserved: 60, limit: 100 }])
    expect(await other.reserve({ leaseId: 'p2', now: t0, expiresAt: t0 + minute, counters: [onBalance(41)] })).toMatchObject({ ok: false })
    expect(await synced.inspectLease({ leaseId: 'p1', now: t0 })).toMatchObject({ state: 'holding', held: [10, 60] })
    expect(await synced.extend({ leaseId: 'p1', now: t0, expiresAt: t0 + 2 * minute })).toBe(true)
    const outcomes = await synced.settle({
      leaseId: 'p1',
      now: t0,
      expiresAt: t0 + 2 * minute,
      charges: [
        { ...plan(0), placement: first.placements[0]!, held: 10, amount: 10 },
        { ...alice, window: balance, placement: 0, held: 60, amount: 50 },
      ],
    })
    expect(outcomes[1]).toMatchObject({ balanceBefore: 100, balanceAfter: 50 })
    expect(synced.hasPending).toBe(false)
    const [state] = await shared.credits.readBalances({ now: t0, balances: [alice] })
    expect(state).toMatchObject({ balance: 50, reserved: 0 })
    expect(await shared.read({ now: t0, counters: [plan(0)] })).toMatchObject([{ used: 10, reserved: 0 }])
    await Promise.all([synced.close(), other.close()])
  })

  it('fails a reservation on a balance with the shared store when it is down: credits are never spent locally', async () => {
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 })
    const synced = new SyncedStore(new RedisStore({ client: down, prefix: 'down' }), { syncIntervalMs: Number.POSITIVE_INFINITY })
    const window: CounterRequest = {
      counter: 'daily',
      identifier: '=alice',
      window: { kind: 'fixed', start: t0, end: t0 + minute },
      limit: 10,
      amount: 1,
      hold: true,
    }
    expect(await synced.reserve({ leaseId: 'w', now: t0, expiresAt: t0 + minute, counters: [window] })).toMatchObject({ ok: true })
    await expect(Promise.resolve(synced.reserve({ leaseId: 'b', now: t0, expiresAt: t0 + minute, counters: [onBalance(1)] }))).rejects.toMatchObject({
      code: 'StoreUnavailable',
    })
    down.disconnect()
  })
})

describe('a quota with balance policies on the Lua stores', () => {
  const credits: QuotaPolicy = { name: 'credits', type: 'balance', identifier: 'user' }
  const plan: QuotaPolicy = { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' }
  const warningsOf = (policies: QuotaPolicy[], store: QuotaStore) => {
    const warnings: WarningEvent[] = []
    createTokenQuota({ policies, store, on: { warning: (event) => warnings.push(event) } })
    return warnings.map((warning) => warning.code)
  }

  it('warns at construction that paid credits need AOF persistence (VolatileCredits), on Redis, Upstash and a SyncedStore over them only', () => {
    const redis = new RedisStore({ client, prefix: 'warn' })
    const upstash = new UpstashStore({ client: new UpstashRedis({ url: upstashUrl, token: 'test-token' }), prefix: 'warn' })
    expect(warningsOf([credits], redis)).toEqual(['VolatileCredits'])
    expect(warningsOf([plan, credits], upstash)).toEqual(['VolatileCredits'])
    expect(warningsOf([credits], new SyncedStore(redis, { syncIntervalMs: Number.POSITIVE_INFINITY }))).toEqual(['VolatileCredits'])
    expect(warningsOf([{ name: 'daily', identifier: 'user', allow: 10, interval: 1, timeUnit: 'day' }], redis)).toEqual([])
    expect(warningsOf([credits], new MemoryStore())).toEqual([])
  })

  it('spills a plan allowance of 100 into 50 credits on Redis: 120 charges 100 + 20, then 40 is refused (CreditsExhausted) with 30 left', async () => {
    const clock = createFakeClock('2031-03-14T10:00:00Z')
    const quota = createTokenQuota({ policies: [plan, credits], store: new RedisStore({ client, prefix: `rc${++prefixes}` }), now: clock.now })
    await quota.admin.topUp({ policy: 'credits', context: { user: 'alice' }, amount: 50, key: 'pack-1' })
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 120 })
    const result = await lease.commit({ input: 100, output: 20 })
    expect(result.charges.map(({ policy, amount }) => [policy, amount])).toEqual([
      ['plan', 100],
      ['credits', 20],
    ])
    await quota.flush()
    await expect(quota.reserve({ user: 'alice' }, { estimate: 40 })).rejects.toMatchObject({ code: 'CreditsExhausted', policy: 'credits', remaining: 30 })
    expect(await quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })).toMatchObject({ balance: 30, reserved: 0 })
    expect((await quota.admin.ledger({ policy: 'credits', context: { user: 'alice' } })).map(({ kind, amount }) => [kind, amount])).toEqual([
      ['topup', 50],
      ['charge', -20],
    ])
  })
})
