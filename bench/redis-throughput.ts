// Reserve + commit throughput on a real local redis-server, next to rate-limiter-flexible's
// RateLimiterRedis.consume() on the same server, and — over Upstash's REST protocol, bridged to the
// same server in-process — UpstashStore next to @upstash/ratelimit; same process run, interleaved.
//   npm run build && node bench/redis-throughput.ts
import { createTokenQuota, type QuotaPolicy } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { UpstashStore } from '@tokenquota/core/upstash'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis as UpstashRedis } from '@upstash/redis'
import { Redis } from 'ioredis'
import { RateLimiterRedis } from 'rate-limiter-flexible'
import { startRedisServer } from '../packages/test-support/src/redis/redis-server.ts'
import { createUpstashRestBridge, upstashUrl } from '../packages/test-support/src/redis/upstash-rest-bridge.ts'

const operationsPerRun = 2000
const rounds = 5
const users = 1000

const policies: QuotaPolicy[] = [
  { name: 'org-month', identifier: 'org', allow: 1e12, interval: 1, timeUnit: 'month' },
  { name: 'project-day', identifier: 'project', allow: 1e12, interval: 1, timeUnit: 'day' },
  { name: 'user-minute', type: 'rollingwindow', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'minute' },
]

/** Runs `operationsPerRun` operations; `drain` (our background commits landing) is inside the measured time. */
async function run(concurrency: number, operation: (index: number) => Promise<unknown>, drain?: () => Promise<void>): Promise<number> {
  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < operationsPerRun) await operation(next++)
    }),
  )
  await drain?.()
  return operationsPerRun / ((performance.now() - started) / 1000)
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const server = await startRedisServer()
const client = new Redis(server.url)
try {
  const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix: 'bench' }) })
  const limiter = new RateLimiterRedis({ storeClient: client, keyPrefix: 'rlflx', points: 1e12, duration: 60 })
  const ours = async (index: number) => {
    const context = { org: 'acme', project: `p${index % 10}`, user: `u${index % users}` }
    const lease = await quota.reserve(context, { estimate: 1200 })
    await lease.commit({ input: 900, output: 250 })
  }
  const theirs = (index: number) => limiter.consume(`u${index % users}`, 1150)
  const bridge = createUpstashRestBridge(client)
  bridge.listen()
  const upstash = new UpstashRedis({ url: upstashUrl, token: 'bench' })
  const overRest = createTokenQuota({ policies, store: new UpstashStore({ client: upstash, prefix: 'bench-rest' }) })
  const ratelimit = new Ratelimit({ redis: upstash, limiter: Ratelimit.fixedWindow(1e12, '60 s'), prefix: 'upstash-rl' })
  const oursOverRest = async (index: number) => {
    const lease = await overRest.reserve({ org: 'acme', project: `p${index % 10}`, user: `u${index % users}` }, { estimate: 1200 })
    await lease.commit({ input: 900, output: 250 })
  }
  const upstashRatelimit = (index: number) => ratelimit.limit(`u${index % users}`, { rate: 1150 })
  const candidates: ReadonlyArray<readonly [string, (index: number) => Promise<unknown>, (() => Promise<void>)?]> = [
    ['tokenquota reserve+commit (3 policies)', ours, () => quota.flush()],
    ['rate-limiter-flexible consume', theirs],
    ['tokenquota UpstashStore (REST bridge)', oursOverRest, () => overRest.flush()],
    ['@upstash/ratelimit limit (REST bridge)', upstashRatelimit],
  ]

  const results: Record<string, number[]> = {}
  for (let round = 0; round < rounds + 1; round += 1) {
    for (const concurrency of [1, 64]) {
      for (const [name, operation, drain] of candidates) {
        const opsPerSecond = await run(concurrency, operation, drain)
        // round 0 warms up
        if (round > 0) {
          const key = `${name} @${concurrency}`
          results[key] ??= []
          results[key].push(opsPerSecond)
        }
      }
    }
  }
  console.log(
    `node ${process.version}, redis ${(await client.info('server')).match(/redis_version:(\S+)/)?.[1]}, ${operationsPerRun} ops × ${rounds} rounds, medians`,
  )
  for (const concurrency of [1, 64]) {
    const ourMedian = median(results[`tokenquota reserve+commit (3 policies) @${concurrency}`]!)
    const theirMedian = median(results[`rate-limiter-flexible consume @${concurrency}`]!)
    console.log(
      `concurrency ${String(concurrency).padStart(2)}: tokenquota ${ourMedian.toFixed(0)} ops/s, rate-limiter-flexible ${theirMedian.toFixed(0)} ops/s, ratio ${(ourMedian / theirMedian).toFixed(2)}×`,
    )
    const restOurs = median(results[`tokenquota UpstashStore (REST bridge) @${concurrency}`]!)
    const restTheirs = median(results[`@upstash/ratelimit limit (REST bridge) @${concurrency}`]!)
    console.log(
      `concurrency ${String(concurrency).padStart(2)}, REST: tokenquota UpstashStore ${restOurs.toFixed(0)} ops/s, @upstash/ratelimit ${restTheirs.toFixed(0)} ops/s, ratio ${(restOurs / restTheirs).toFixed(2)}×`,
    )
  }
  bridge.close()
} finally {
  client.disconnect()
  await server.kill()
}
