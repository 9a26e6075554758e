import type { QuotaPolicy } from '@tokenquota/core'

// The README's "Selling usage" policies, as an app defines them in code: a monthly plan allowance per
// user that spills into the user's prepaid credits.
export const policies: QuotaPolicy[] = [
  { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' },
  { name: 'credits', type: 'balance', identifier: 'user', lowAt: 10 },
]
