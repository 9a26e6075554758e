import { describe, expect, it } from 'vitest'
import { createTokenQuota, priceTable } from '@tokenquota/core'
import { RedisStore, RedisUsageStore } from '@tokenquota/core/redis'
import { trackUsage } from '@tokenquota/core/reports'
import { app, spend, tokenquotaInProcess, useRedisServer } from './testing/harness.js'

const redis = useRedisServer()

describe('tokenquota report speaks of dollars only where calls were priced', { timeout: 60_000 }, () => {
  it('an app without a money policy: tokens only, no "$0.00 priced", no cost column', async () => {
    const { quota, tracking, store } = await app(redis.client, redis.server.url)
    await spend(quota, { user: 'alice', plan: 'premium', project: 'production' }, 3000, 1000, 'gpt-4o')
    await tracking.flush()
    for (const by of ['user', 'model']) {
      const run = await tokenquotaInProcess(['report', '--by', by, ...store])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout).toMatch(/tokens 4,000 in 1 /)
      expect(run.stdout).not.toMatch(/\$|priced|COST/)
    }
  })

  it('an app with a money policy: what its calls cost, in total and per consumer, sub-cent amounts included', async () => {
    const prefix = `money-${process.pid}`
    const quota = createTokenQuota({
      policies: [{ name: 'user-daily-usd', identifier: 'user', count: 'usd', allow: 5, interval: 1, timeUnit: 'day' }],
      prices: [priceTable({ 'gpt-4o': { input: 2.5, output: 10 } })],
      store: new RedisStore({ client: redis.client, prefix }),
      commitMode: 'await',
    })
    const tracking = trackUsage(quota, { store: new RedisUsageStore({ client: redis.client, prefix }) })
    await spend(quota, { user: 'alice' }, 1000, 200, 'gpt-4o') // $0.0025 + $0.002
    await tracking.flush()
    const run = await tokenquotaInProcess(['report', '--by', 'user', '--redis-url', redis.server.url, '--prefix', prefix])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain('$0.0045 priced')
    expect(run.stdout).toMatch(/USER\s+TOKENS\s+SHARE\s+COST/)
    expect(run.stdout).toMatch(/alice\s+1,200\s+100\.0%\s+\$0\.0045/)
  })
})
