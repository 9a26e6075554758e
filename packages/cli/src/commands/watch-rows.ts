import type { PolicyInspection, QuotaContext, TokenQuota } from '@tokenquota/core'
import { classesOf, classKeyOf } from '../classes.js'
import { CliError } from '../cli-error.js'
import { printable } from '../printable.js'
import { isActive } from '../scope.js'
import { amount } from '../table.js'

/**
 * The plans watch looks a user up under. A user's plan is not in the usage the app tracks, but each
 * plan has its own counter family (`user-daily#=premium`), so a user's plan is the one whose
 * counters were charged (or have an override or a refusal) in the current window: watch reads each
 * known plan and shows the user once per plan it finds (twice after a mid-day plan change).
 * `--plan` shows only that plan's users. Policies not limited by plan: one lookup, plan `undefined`.
 */
export function plansToWatch(quota: TokenQuota, plan: string | undefined): ReadonlyArray<string | undefined> {
  const known = [...new Set(quota.policies.filter((policy) => policy.identifier === 'user' && classKeyOf(policy) === 'plan').flatMap(classesOf))]
  if (known.length === 0) return [plan]
  if (plan === undefined) return known
  if (!known.includes(plan)) throw new CliError(`unknown plan "${printable(plan)}": the known plans are ${known.map(printable).join(', ')}`)
  return [plan]
}

/** A user's windows under one plan (`undefined`: no policy is limited by plan). */
export interface PlanRow {
  readonly plan: string | undefined
  readonly rows: readonly PolicyInspection[]
}

/**
 * The plans (of `plans`) a user's counters show activity under; with no plan-based policy, the one
 * lookup, kept without activity unless `sharded`: the usage lists every shard's users, and a user of
 * another shard has no counter in this one.
 */
export async function userPlans(
  quota: TokenQuota,
  context: QuotaContext,
  user: string,
  plans: ReadonlyArray<string | undefined>,
  sharded = false,
): Promise<PlanRow[]> {
  const found = await Promise.all(
    plans.map(async (plan) => {
      const rows = await quota.admin.inspect({ ...context, user, ...(plan === undefined ? {} : { plan }) })
      return { plan, rows }
    }),
  )
  if (plans.length === 1 && plans[0] === undefined) return sharded ? found.filter(({ rows }) => rows.some(isActive)) : found
  return found.filter(({ plan, rows }) => rows.some((row) => row.class === plan && isActive(row)))
}

/** One policy's cell: `used/allowed share%` (a balance: `available left`), and `refused` after a refusal in the last hour. */
export function cellOf(row: PolicyInspection | undefined, now: number): string {
  if (!row) return ''
  // A balance has no window to fill: what is left of it.
  if (row.type === 'balance') return `${amount(row.available, row.unit)} left`
  const share = row.allowed > 0 ? ` ${Math.round((row.used / row.allowed) * 100)}%` : ''
  return `${amount(row.used, row.unit)}/${amount(row.allowed, row.unit)}${share}${row.lastRefusal && row.lastRefusal.at > now - 3_600_000 ? ' refused' : ''}`
}
