import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'
import { type CreditBalance, createTokenQuota, type TokenQuota } from '@tokenquota/core'
import { RedisStore, RedisUsageStore } from '@tokenquota/core/redis'
import { trackUsage } from '@tokenquota/core/reports'
import { policies } from './credit-policies.js'

/** The module that defines the credit policies in code, as the CLI's `--config`. */
export const creditConfig = fileURLToPath(new URL('credit-policies.ts', import.meta.url))

let prefixes = 0

/** An app on the credit policies, counting in Redis under its own prefix, on a clock `offsetMs` from the CLI's. */
export function creditApp(client: Redis, url: string, { offsetMs = 0, prefix = `credits${++prefixes}-${process.pid}` } = {}) {
  const quota = createTokenQuota({ policies, store: new RedisStore({ client, prefix }), commitMode: 'await', now: () => Date.now() + offsetMs })
  const tracking = trackUsage(quota, { store: new RedisUsageStore({ client, prefix }) })
  return { quota, tracking, prefix, flags: ['--redis-url', url, '--prefix', prefix, '--config', creditConfig] }
}

/** Alice's balance on the credit policies. */
export const balanceOf = (quota: TokenQuota): Promise<CreditBalance> => quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })
