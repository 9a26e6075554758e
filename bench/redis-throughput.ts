// Reserve + commit throughput on a real local redis-server, next to rate-limiter-flexible's
// RateLimiterRedis.consume() on the same server and the same job built from it (three limiters:
// consume the estimate on each, reward the unused part), and — over Upstash's REST protocol,
// bridged to the same server in-process — UpstashStore next to @upstash/ratelimit; same process
// run, interleaved. Then the Redis CPU each costs per cycle, from INFO commandstats.
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

/**
 * What `runCycles` (`operationsPerRun` cycles) costs the server per cycle, from its own counters: the
 * CPU of the redis-server process (INFO cpu: commands, scripts and networking), the time spent in
 * top-level commands (INFO commandstats; a script's time includes the commands it calls, which are
 * also listed on their own, so only top-level ones are summed) and the commands run.
 */
async function redisCostPerCycle(client: Redis, runCycles: () => Promise<unknown>) {
  const cpu = async () => {
    const info = await client.info('cpu')
    return (Number(info.match(/used_cpu_sys:([\d.]+)/)![1]) + Number(info.match(/used_cpu_user:([\d.]+)/)![1])) * 1e6
  }
  await client.call('CONFIG', 'RESETSTAT')
  const before = await cpu()
  await runCycles()
  const processUsec = (await cpu()) - before
  const stats = await client.info('commandstats')
  let commandUsec = 0
  const perCommand: string[] = []
  for (const [, command, count, spent] of stats.matchAll(/cmdstat_(\S+?):calls=(\d+),usec=(\d+)/g)) {
    if (command === 'info' || command!.startsWith('config')) continue
    if (/^(evalsha|eval|evalsha_ro|eval_ro|fcall)$/.test(command!) || !scriptOnly.has(command!)) commandUsec += Number(spent)
    perCommand.push(`${command} ${(Number(count) / operationsPerRun).toFixed(1)}`)
  }
  return { processUsec: processUsec / operationsPerRun, commandUsec: commandUsec / operationsPerRun, commands: perCommand.join(', ') }
}
/** Commands that both stores under test only run from their Lua scripts. */
const scriptOnly = new Set(['hset', 'hmget', 'hget', 'zadd', 'zrem', 'zrangebyscore', 'pttl', 'pexpire', 'set', 'incrby', 'get', 'del', 'expire'])

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
  const [orgs, projects, perUser] = [86_400, 86_400, 60].map(
    (duration, index) => new RateLimiterRedis({ storeClient: client, keyPrefix: `rlflx-job${index}`, points: 1e12, duration }),
  )
  /** What a 3-policy reserve + commit does, built from rate-limiter-flexible: hold the estimate on each, give back the rest. */
  const sameJob = async (index: number) => {
    const [org, project, user] = ['acme', `p${index % 10}`, `u${index % users}`]
    await Promise.all([orgs!.consume(org, 1200), projects!.consume(project, 1200), perUser!.consume(user, 1200)])
    await Promise.all([orgs!.reward(org, 50), projects!.reward(project, 50), perUser!.reward(user, 50)])
  }
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
    ['rate-limiter-flexible same job', sameJob],
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
    const jobMedian = median(results[`rate-limiter-flexible same job @${concurrency}`]!)
    console.log(
      `concurrency ${String(concurrency).padStart(2)}: tokenquota ${ourMedian.toFixed(0)} ops/s, rate-limiter-flexible consume ${theirMedian.toFixed(0)} ops/s (ratio ${(ourMedian / theirMedian).toFixed(2)}×), same job ${jobMedian.toFixed(0)} ops/s (ratio ${(ourMedian / jobMedian).toFixed(2)}×)`,
    )
    const restOurs = median(results[`tokenquota UpstashStore (REST bridge) @${concurrency}`]!)
    const restTheirs = median(results[`@upstash/ratelimit limit (REST bridge) @${concurrency}`]!)
    console.log(
      `concurrency ${String(concurrency).padStart(2)}, REST: tokenquota UpstashStore ${restOurs.toFixed(0)} ops/s, @upstash/ratelimit ${restTheirs.toFixed(0)} ops/s, ratio ${(restOurs / restTheirs).toFixed(2)}×`,
    )
  }
  for (const concurrency of [1, 64]) {
    for (const [name, operation, drain] of candidates.slice(0, 3)) {
      const cost = await redisCostPerCycle(client, () => run(concurrency, operation, drain))
      console.log(
        `Redis per cycle @${concurrency}, ${name}: ${cost.processUsec.toFixed(1)} µs server CPU, ${cost.commandUsec.toFixed(1)} µs in top-level commands; commands per cycle: ${cost.commands}`,
      )
    }
  }
  bridge.close()
} finally {
  client.disconnect()
  await server.kill()
}
