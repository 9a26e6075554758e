import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkAgainstReferenceModel } from '@tokenquota/test-support/reference-model'
import { describeQuotaStoreContract } from '../testing/store-contract.js'
import { describeStoreAdminContract } from '../testing/store-admin-contract.js'
import { describeStoreCreditsContract } from '../testing/store-contract-credits.js'
import { describeSpillBeyondEstimate } from '../testing/credit-spill-contract.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { startRedisServer, startUpstashRestServer, type RedisServer } from '@tokenquota/test-support/redis'
import { UpstashStore } from './upstash-store.js'

let server: RedisServer
let redis: Redis
// Upstash's REST protocol on a local HTTP port: each call a real request (1.5 ms of CPU; through
// msw's interception of fetch, 5.4 ms, and these tests send thousands).
let rest: Awaited<ReturnType<typeof startUpstashRestServer>>
let prefixes = 0
const upstash = () => new UpstashRedis({ url: rest.url, token: 'test-token' })
const nextStore = () => new UpstashStore({ client: upstash(), prefix: `upstash${++prefixes}` })

beforeAll(async () => {
  server = await startRedisServer()
  redis = new Redis(server.socket)
  rest = await startUpstashRestServer(redis)
})
afterAll(async () => {
  await rest.close()
  redis.disconnect()
  await server.kill()
})

describeQuotaStoreContract('UpstashStore over REST', { createStore: nextStore })
describeStoreAdminContract('UpstashStore over REST', { createStore: nextStore })
// Each call is an HTTP request: the contract's 120-step mixed run makes ~450 of them, seconds on a
// loaded 2-core machine.
describe('over a slow transport', { timeout: 60_000 }, () => describeStoreCreditsContract('UpstashStore over REST', nextStore))
describeSpillBeyondEstimate('UpstashStore over REST', nextStore)

describe('UpstashStore under the engine', () => {
  it('has the same window semantics as MemoryStore', async () => {
    await checkAgainstReferenceModel({ createStore: nextStore, numRuns: 15 })
  }, 30_000) // random sequences: some runs are long, and CI shares two cores

  it('sends unknown scripts again after a script cache flush', async () => {
    const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' }], store: nextStore() })
    await (await quota.reserve({ user: 'alice' }, { estimate: 10 })).commit({ total: 10 })
    await redis.script('FLUSH')
    await (await quota.reserve({ user: 'alice' }, { estimate: 10 })).commit({ total: 10 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 20 }])
  })
})
