import { createTokenQuota, type QuotaPolicy } from '@tokenquota/core'
import { RedisStore } from '@tokenquota/core/redis'
import { Redis } from 'ioredis'
import { startRedisServer } from '../packages/core/src/stores/redis/test-support/redis-server.ts'
const server = await startRedisServer()
const client = new Redis(server.url)
const sets: Record<string, QuotaPolicy[]> = {
  fixed1: [{ name: 'project-day', identifier: 'project', allow: 1e12, interval: 1, timeUnit: 'day' }],
  rolling1: [{ name: 'user-minute', type: 'rollingwindow', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'minute' }],
  user1: [{ name: 'user-day', identifier: 'user', allow: 1e12, interval: 1, timeUnit: 'day' }],
}
for (const [name, policies] of Object.entries(sets)) {
  const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix: name }) })
  const op = async (i: number) => { const l = await quota.reserve({ org: 'acme', project: `p${i % 10}`, user: `u${i % 1000}` }, { estimate: 1200 }); await l.commit({ input: 900, output: 250 }) }
  for (let i = 0; i < 2000; i++) await op(i)
  await client.config('RESETSTAT')
  for (let i = 0; i < 4000; i++) await op(i)
  const lines = (await client.info('commandstats')).split('\n').filter(l => l.startsWith('cmdstat_')).map(l => l.replace(/,rejected.*/, '').replace('cmdstat_', '').replace(/usec=\d+,/, ''))
  console.log(name, lines.join(' | '))
}
client.disconnect(); await server.kill()
