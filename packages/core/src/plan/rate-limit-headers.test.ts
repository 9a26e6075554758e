import { describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { priceTable } from '../price/rates-table.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { rateLimitHeaders } from './rate-limit-headers.js'

const policies: QuotaPolicy[] = [
  { name: 'user-daily', identifier: 'user', allow: 50_000, interval: 1, timeUnit: 'day' },
  { name: 'user-hourly', identifier: 'user', allow: 20_000, interval: 1, timeUnit: 'hour' },
  { name: 'user-rpm', identifier: 'user', count: 'requests', allow: 60, interval: 1, timeUnit: 'minute' },
  { name: 'user-usd', identifier: 'user', count: 'usd', allow: 50, interval: 1, timeUnit: 'day' },
  { name: 'shadow', identifier: 'user', allow: 10, mode: 'count-only', interval: 1, timeUnit: 'day' },
]

async function spent() {
  const clock = createFakeClock('2026-06-10T10:30:00Z')
  const quota = createTokenQuota({ policies, now: clock.now, prices: [priceTable({ 'gpt-4o': { input: 2.5, output: 10 } })] })
  const lease = await quota.reserve({ user: 'alice' }, { estimate: { input: 30, output: 20 }, model: 'gpt-4o' })
  await lease.commit({ input: 30, output: 20 })
  return { clock, status: await quota.status({ user: 'alice' }, { model: 'gpt-4o' }) }
}

describe('rateLimitHeaders', () => {
  it('gives one x-ratelimit family per unit, each from its own tightest policy: never dollars against tokens', async () => {
    const { clock, status } = await spent()
    const headers = rateLimitHeaders(status, { now: clock.now(), format: 'x-ratelimit' })
    expect(headers).toEqual({
      'x-ratelimit-limit-tokens': '20000',
      'x-ratelimit-remaining-tokens': '19950',
      'x-ratelimit-reset-tokens': '1800s',
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '59',
      'x-ratelimit-reset-requests': '60s',
      'x-ratelimit-limit-usd': '50',
      'x-ratelimit-remaining-usd': '49.999725',
      'x-ratelimit-reset-usd': '48600s',
    })
  })

  it('gives the IETF RateLimit-Policy and RateLimit fields, one item per enforced token or request policy', async () => {
    const { clock, status } = await spent()
    const headers = rateLimitHeaders(status, { now: clock.now(), format: 'ietf' })
    expect(headers).toEqual({
      'ratelimit-policy': '"user-daily";q=50000;w=86400;qu="tokens", "user-hourly";q=20000;w=3600;qu="tokens", "user-rpm";q=60;w=60;qu="requests"',
      ratelimit: '"user-daily";r=49950;t=48600, "user-hourly";r=19950;t=1800, "user-rpm";r=59;t=60',
    })
    expect(rateLimitHeaders(status, { now: clock.now() })).toEqual({ ...rateLimitHeaders(status, { now: clock.now(), format: 'x-ratelimit' }), ...headers })
  })

  it('quotes policy names as structured-field strings, and gives nothing for no policy', () => {
    const decision = {
      name: 'say "hi"\\é',
      policy: 'say "hi"\\é',
      type: 'default',
      mode: 'enforce',
      identifier: 'alice',
      class: undefined,
      unit: 'tokens',
      allowed: 10,
      used: 12,
      reserved: 0,
      available: 0,
      windowStart: 0,
      resetAt: 1500,
    } as const
    expect(rateLimitHeaders([decision], { now: 0, format: 'ietf' })).toEqual({
      'ratelimit-policy': '"say \\"hi\\"\\\\?";q=10;w=2;qu="tokens"',
      ratelimit: '"say \\"hi\\"\\\\?";r=0;t=2',
    })
    expect(rateLimitHeaders([])).toEqual({})
  })
})
