import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createTokenQuota } from '../token-quota.js'
import { startRedisServer, type RedisServer } from './redis/test-support/redis-server.js'
import { RedisStore } from './redis-store.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(() => server.kill())

it('4 processes × 40 concurrent callers for one user commit at most `allow` and use at least 80 % of it', async () => {
  const allow = 20_000
  const worker = fileURLToPath(new URL('./redis/test-support/quota-worker.mjs', import.meta.url))
  const env = { ...process.env, REDIS_URL: server.url, PREFIX: 'multi', CONCURRENCY: '40', ALLOW: String(allow), START_AT: String(Date.now() + 3000) }
  const outputs = await Promise.all(Array.from({ length: 4 }, () => promisify(execFile)(process.execPath, [worker], { env })))
  const results = outputs.map(({ stdout }) => JSON.parse(stdout) as { committed: number; calls: number })
  const committed = results.reduce((sum, result) => sum + result.committed, 0)
  expect(results.every((result) => result.calls > 0)).toBe(true)
  expect(committed).toBeLessThanOrEqual(allow)
  expect(committed).toBeGreaterThanOrEqual(0.8 * allow)

  const client = new Redis(server.url)
  const quota = createTokenQuota({ policies: [{ name: 'user-daily', identifier: 'user', allow, interval: 1, timeUnit: 'day' }], store: new RedisStore({ client, prefix: 'multi' }) })
  expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: committed, reserved: 0 }])
  client.disconnect()
}, 30_000) // four Node processes start, then compete for about half a second
