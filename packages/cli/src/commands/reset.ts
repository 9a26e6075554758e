import { describeContext } from '../context.js'
import { terminal } from '../terminal.js'
import { type ScopeFlags, scopedTargets } from '../scope.js'
import { type SessionFlags, withQuota } from '../session.js'
import { amount } from '../table.js'
import { type ActorFlags, actorsOf, adminCall } from './overrides.js'

export interface ResetFlags extends SessionFlags, ScopeFlags, ActorFlags {}

/**
 * `tokenquota reset --user alice --policy user-daily`: the caller's usage in the current window back
 * to zero. Without `--policy`, the caller's own counters that have usage (`--yes` for several);
 * never a counter the caller shares with others.
 */
export async function reset(flags: ResetFlags): Promise<void> {
  const actorOf = actorsOf(flags)
  await withQuota(flags, async (quota) => {
    for (const { target, row } of await scopedTargets(quota, flags, 'reset')) {
      const lead = await adminCall(flags, target.policy, 'reset', () => quota.admin.reset({ ...target, ...actorOf(target) }))
      const who = Object.keys(target.context ?? {}).length === 0 ? ' (shared)' : ` for ${describeContext(target.context ?? {})}`
      const what = lead === 'reset' ? `: ${row ? amount(row.used, row.unit) : 0} used → 0` : ''
      terminal().out(`${lead} ${target.policy}${who}${what}\n`)
    }
  })
}
