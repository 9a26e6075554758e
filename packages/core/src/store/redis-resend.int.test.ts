import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectFailFast, startRedisServer, startReplyDroppingProxy, type RedisServer, type ReplyDroppingProxy } from '@tokenquota/test-support/redis'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from '../engine/token-quota.js'
import { RedisStore } from './redis-store.js'

// A network cut that drops a reply: the script ran on Redis, and ioredis, with its default
// `autoResendUnfulfilledCommands`, sends it again on reconnect. It must count once.
let server: RedisServer
let proxy: ReplyDroppingProxy
let direct: Redis
let viaProxy: Redis
beforeAll(async () => {
  server = await startRedisServer()
  proxy = await startReplyDroppingProxy(server.port)
  direct = await connectFailFast(server.url)
  viaProxy = new Redis(proxy.url, { retryStrategy: () => 10 })
})
afterAll(async () => {
  viaProxy.disconnect()
  direct.disconnect()
  await proxy.close()
  await server.kill()
})

const policies: QuotaPolicy[] = [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }]

describe('a reply lost and the command re-sent on reconnect', () => {
  it('holds a reservation once: its commit leaves nothing reserved, and its expiry nothing stuck', async () => {
    const clock = createFakeClock('2026-03-01T00:00:00Z')
    const quota = createTokenQuota({
      policies,
      now: clock.now,
      leaseTtlMs: 60_000,
      store: new RedisStore({ client: viaProxy, prefix: 'resend', timeoutMs: 5000 }),
    })
    const truth = createTokenQuota({ policies, now: clock.now, store: new RedisStore({ client: direct, prefix: 'resend' }) })
    await (await quota.reserve({ user: 'warm' }, { estimate: 1 })).commit({ total: 1 }) // scripts cached: the next reply is the reservation's
    await quota.flush()

    proxy.dropNextReply()
    const committed = await quota.reserve({ user: 'alice' }, { estimate: 300 })
    expect(proxy.dropped).toBe(1)
    expect(await truth.status({ user: 'alice' })).toMatchObject([{ used: 0, reserved: 300 }])
    await committed.commit({ total: 100 })
    await quota.flush()
    expect(await truth.status({ user: 'alice' })).toMatchObject([{ used: 100, reserved: 0 }])

    proxy.dropNextReply()
    await quota.reserve({ user: 'alice' }, { estimate: 200 }) // never settled: charged at expiry, once
    clock.advance(61_000)
    expect(await truth.status({ user: 'alice' })).toMatchObject([{ used: 300, reserved: 0 }])
  })
})
