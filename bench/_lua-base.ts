import { Redis } from 'ioredis'
import { startRedisServer } from '../packages/core/src/stores/redis/test-support/redis-server.ts'
import { scripts } from '../packages/core/src/stores/redis/lua-scripts.ts'
const server = await startRedisServer()
const client = new Redis(server.url)
const variants: Record<string, string> = {
  trivial: 'return 1',
  prelude: scripts.read.source.replace(/local now, n = [\s\S]*$/, 'return 1'),
  hincr: "redis.call('HINCRBY', KEYS[1], 'u', 1) return 1",
  fivecalls: "redis.call('HINCRBY', KEYS[1], 'u', 1) redis.call('HINCRBY', KEYS[1], 'r', 1) redis.call('HMGET', KEYS[1], 'u', 'r') redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', 5) redis.call('PEXPIRE', KEYS[1], 100000) return 1",
}
for (const [name, src] of Object.entries(variants)) {
  const sha = await client.script('LOAD', src) as string
  await client.config('RESETSTAT')
  await Promise.all(Array.from({ length: 4000 }, (_, i) => client.evalsha(sha, 2, `k${i % 100}`, `z${i % 100}`, ...Array.from({ length: 20 }, (_, j) => String(j)))))
  const line = (await client.info('commandstats')).split('\n').find(l => l.startsWith('cmdstat_evalsha'))
  console.log(name, line)
}
client.disconnect(); await server.kill()
