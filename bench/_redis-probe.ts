// Scratch: Redis CPU per cycle, ours vs rlf, at concurrency 64.
import { createTokenQuota, type QuotaPolicy } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { startRedisServer } from '../packages/core/src/stores/redis/test-support/redis-server.ts'
const policies: QuotaPolicy[] = [
  { name: 'org-month', identifier: 'org', allow: 1e12, interval: 1, timeUnit: 'month' },
  { name: 'project-day', identifier: 'project', allow: 1e12, interval: 1, timeUnit: 'day' },
  { name: 'user-minute', type: 'rollingwindow', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'minute' },
]
const server = await startRedisServer()
const client = new Redis(server.url)
const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix: 'bench' }) })
const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rlflx', points: 1e12, duration: 60 })
const ops = 6000
async function run(c: number, op: (i: number) => Promise<unknown>) {
  let next = 0; const t = performance.now()
  await Promise.all(Array.from({ length: c }, async () => { while (next < ops) await op(next++) }))
  if ('flush' in quota) await (quota as any).flush()
  return ops / ((performance.now() - t) / 1000)
}
const ours = async (i: number) => { const l = await quota.reserve({ org: 'acme', project: `p${i % 10}`, user: `u${i % 1000}` }, { estimate: 1200 }); await l.commit({ input: 900, output: 250 }) }
const theirs = (i: number) => limiter.consume(`u${i % 1000}`, 1150)
for (const [name, op] of [['ours', ours], ['rlf', theirs]] as const) {
  await run(64, op); await client.config('RESETSTAT')
  const s = await run(64, op)
  const stats = (await client.info("commandstats")).split("\n").filter((l) => l.startsWith("cmdstat_")).map((l) => l.replace(/,rejected.*/, "").replace(/usec=\d+,/, ""))
  const cpu = (await client.info('commandstats')).split('\n').filter(l => l.startsWith('cmdstat_')).map(l => +l.match(/usec=(\d+)/)![1]).reduce((a, b) => a + b, 0)
  console.log(name, Math.round(s), 'ops/s; redis µs per op', (cpu / ops).toFixed(1), stats.join(' | '))
}
client.disconnect(); await server.kill()
