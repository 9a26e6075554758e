import { createTokenQuota, type QuotaContext, type WarningEvent } from '@tokenquota/core'

/**
 * A quota of 100,000 tokens a day per user, recording its warnings, with helpers for one caller:
 * `as(fn)` runs `fn` in `context` (alice by default), `used()` is that caller's counter.
 */
export function dailyQuota(context: QuotaContext = { user: 'alice' }) {
  const warnings: WarningEvent[] = []
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day' }],
    on: { warning: (event) => warnings.push(event) },
  })
  const as = <T>(fn: () => Promise<T>) => quota.withContext(context, fn)
  const used = async () => (await quota.status(context))[0]!
  return { quota, warnings, as, used }
}
