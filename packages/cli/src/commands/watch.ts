import { setTimeout as sleep } from 'node:timers/promises'
import { terminal } from '../terminal.js'
import type { TokenQuota } from '@tokenquota/core'
import { periodReport } from '@tokenquota/core/reports'
import { countOf, secondsOf } from '../numbers.js'
import { type ContextFlags, contextOf } from '../context.js'
import { printable } from '../printable.js'
import { type SessionFlags, withQuota } from '../session.js'
import { amount, instant, table } from '../table.js'
import type { Connection } from '../connect.js'
import { cellOf, plansToWatch, userPlans } from './watch-rows.js'

export interface WatchFlags extends SessionFlags, ContextFlags {
  readonly interval: string
  readonly top: string
  /** Stop after this many refreshes (for scripts). */
  readonly count?: string
}

/** `tokenquota watch`: today's heaviest users with every user policy's window under their own plan, refreshed in place. */
export async function watch(flags: WatchFlags): Promise<void> {
  const intervalMs = secondsOf(flags.interval, '--interval', 100)
  const top = countOf(flags.top, '--top')
  const count = flags.count === undefined ? Infinity : countOf(flags.count, '--count')
  const clear = terminal().isTTY ? '\u001b[2J\u001b[H' : ''
  await withQuota(flags, async (quota, connection) => {
    const plans = plansToWatch(quota, flags.plan)
    for (let refresh = 1; refresh <= count; refresh += 1) {
      terminal().out(`${clear}${await frame(quota, connection, flags, top, plans)}\n`)
      if (refresh < count) await sleep(intervalMs)
    }
  })
}

async function frame(quota: TokenQuota, connection: Connection, flags: WatchFlags, top: number, plans: ReadonlyArray<string | undefined>): Promise<string> {
  const now = Date.now()
  const today = await periodReport(connection.usage, { now, days: 1, by: 'user' })
  const policies = quota.policies.filter((policy) => policy.identifier === 'user').map((policy) => policy.name)
  const byPlan = plans.some((plan) => plan !== undefined)
  const context = contextOf(flags)
  const rows = await Promise.all(
    today.consumers.slice(0, top).map(async (user) =>
      (await userPlans(quota, context, user.name, plans, flags.hashTag === true)).map(({ plan, rows: inspected }) => [
        user.name,
        ...(byPlan ? [plan ?? ''] : []),
        amount(user.tokens, 'tokens'),
        ...policies.map((name) =>
          cellOf(
            inspected.find((row) => row.policy === name),
            now,
          ),
        ),
      ]),
    ),
  )
  const heading = `tokenquota watch — ${printable(connection.where)} — ${instant(now)} — ${amount(today.totals.tokens, 'tokens')} tokens today, ${today.totals.refusals} refused`
  const shown = rows.flat()
  if (shown.length === 0) return `${heading}\n\nno usage recorded today${flags.plan === undefined ? '' : ` on plan ${printable(flags.plan)}`}`
  const header = ['USER', ...(byPlan ? ['PLAN'] : []), 'TODAY', ...policies.map((name) => name.toUpperCase())]
  return `${heading}\n\n${table(header, shown)}`
}
