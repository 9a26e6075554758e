// Memory per active identifier, in MemoryStore (1M identifiers) and on Redis (per policy window),
// and the footprint of a fixed set of users over simulated days (expired windows reclaimed).
//   npm run build && node --expose-gc bench/memory-footprint.ts
import { createTokenQuota, MemoryStore, type QuotaPolicy } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'
import { startRedisServer } from '../packages/test-support/src/redis/redis-server.ts'

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined)
const heap = () => {
  gc()
  return process.memoryUsage().heapUsed
}
const daily: QuotaPolicy[] = [{ name: 'user-daily', identifier: 'user', allow: 1e9, interval: 1, timeUnit: 'day' }]
const rolling: QuotaPolicy[] = [{ name: 'user-hour', type: 'rollingwindow', identifier: 'user', allow: 1e9, interval: 1, timeUnit: 'hour' }]

async function memoryPerIdentifier(policies: QuotaPolicy[], identifiers: number): Promise<number> {
  let now = Date.UTC(2026, 2, 1, 12)
  const store = new MemoryStore()
  const quota = createTokenQuota({ policies, store, now: () => now })
  const before = heap()
  for (let index = 0; index < identifiers; index += 1) {
    await (await quota.reserve({ user: `user-${index}` }, { estimate: 100 })).commit({ total: 80 })
    now += 1
  }
  const after = heap()
  // Read the store after measuring, so it is still alive when the heap is measured.
  if (store.size !== identifiers) throw new Error(`expected ${identifiers} live windows, got ${store.size}`)
  return (after - before) / identifiers
}

console.log(`node ${process.version}`)
console.log(`MemoryStore, daily window: ${(await memoryPerIdentifier(daily, 1_000_000)).toFixed(0)} bytes per identifier (1M identifiers)`)
console.log(`MemoryStore, rolling hour (1 bucket used): ${(await memoryPerIdentifier(rolling, 1_000_000)).toFixed(0)} bytes per identifier (1M identifiers)`)

{
  let now = Date.UTC(2026, 2, 1)
  const store = new MemoryStore()
  const quota = createTokenQuota({ policies: [...daily, ...rolling], store, now: () => now })
  const curve: string[] = []
  for (let simulatedDay = 0; simulatedDay < 14; simulatedDay += 1) {
    for (let hour = 0; hour < 24; hour += 2) {
      for (let user = 0; user < 10_000; user += 1) await (await quota.reserve({ user: `user-${user}` }, { estimate: 100 })).commit({ total: 80 })
      now += 2 * 3_600_000
    }
    curve.push(`${(heap() / 1e6).toFixed(0)} MB/${store.size} slots`)
  }
  console.log(`10k users, 2 policies, 14 simulated days (heap / live slots at each day's end): ${curve.join(', ')}`)
}

const server = await startRedisServer()
const client = new Redis(server.url)
try {
  for (const [name, policies] of [
    ['daily window', daily],
    ['rolling hour', rolling],
  ] as const) {
    await client.flushall()
    const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix: 'mem' }) })
    const users = 10_000
    const before = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1])
    for (let user = 0; user < users; user += 1) await (await quota.reserve({ user: `user-${user}` }, { estimate: 100 })).commit({ total: 80 })
    const after = Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1])
    const [key] = await client.keys('mem:c:*')
    const keyUsage = await client.memory('USAGE', key!)
    console.log(
      `Redis, ${name}: ${((after - before) / users).toFixed(0)} bytes per identifier (used_memory delta over ${users}), MEMORY USAGE of one counter key ${keyUsage} bytes, keys per identifier ${(await client.dbsize()) / users}`,
    )
  }
} finally {
  client.disconnect()
  await server.kill()
}
