import { CliError } from '../cli-error.js'
import { type ContextFlags, contextOf, describeContext } from '../context.js'
import { inspectKnown, requireCaller, type SessionFlags, withQuota } from '../session.js'
import { amount } from '../table.js'
import { operatorOf } from './overrides.js'

export interface ResetFlags extends SessionFlags, ContextFlags {
  readonly policy?: string
  readonly reason?: string
  readonly operator?: string
}

/** `tokenquota reset --user alice --policy user-daily`: the caller's usage in the current window back to zero. */
export async function reset(flags: ResetFlags): Promise<void> {
  const context = contextOf(flags)
  requireCaller(context)
  await withQuota(flags, async (quota) => {
    const rows = await inspectKnown(quota, context)
    const chosen = flags.policy === undefined ? rows.filter((row) => row.used > 0) : rows.filter((row) => row.policy === flags.policy)
    if (flags.policy !== undefined && chosen.length === 0) {
      throw new CliError(`policy "${flags.policy}" does not count ${describeContext(context)} (it counts: ${rows.map((row) => row.policy).join(', ')})`)
    }
    if (chosen.length === 0) throw new CliError(`nothing to reset: ${describeContext(context)} has used nothing in the current windows`)
    for (const row of chosen) {
      await quota.admin.reset({ policy: row.policy, context, by: operatorOf(flags), reason: flags.reason })
      process.stdout.write(`reset ${row.policy} for ${describeContext(context)}: ${amount(row.used, row.unit)} used → 0\n`)
    }
  })
}
