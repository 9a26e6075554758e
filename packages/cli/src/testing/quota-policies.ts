import type { QuotaPolicy } from '@tokenquota/core'

// The README's policies module: token_limits.yaml's user policy, as an app that defines its policies in code writes it.
const perPlan: Record<string, number> = { premium: 50_000, standard: 10_000 }

export const policies: QuotaPolicy[] = [{ name: 'user-daily', identifier: 'user', allow: { class: 'plan', counts: perPlan }, interval: 1, timeUnit: 'day' }]
