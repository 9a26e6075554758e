import { setTimeout as sleep } from 'node:timers/promises'
import type { TokenQuota } from '@tokenquota/core'
import { periodReport } from '@tokenquota/core/reports'
import { CliError } from '../cli-error.js'
import { type ContextFlags, contextOf } from '../context.js'
import { type SessionFlags, withQuota } from '../session.js'
import { amount, instant, table } from '../table.js'
import type { Connection } from '../connect.js'

export interface WatchFlags extends SessionFlags, ContextFlags {
  readonly interval: string
  readonly top: string
  /** Stop after this many refreshes (for scripts). */
  readonly count?: string
}

/** `tokenquota watch`: today's heaviest users with every user policy's window, refreshed in place. */
export async function watch(flags: WatchFlags): Promise<void> {
  const intervalMs = Number(flags.interval) * 1000
  const top = Number(flags.top)
  const count = flags.count === undefined ? Infinity : Number(flags.count)
  if (!(intervalMs >= 100)) throw new CliError(`expected --interval to be seconds (at least 0.1), got "${flags.interval}"`)
  if (!Number.isInteger(top) || top < 1) throw new CliError(`expected --top to be a positive integer, got "${flags.top}"`)
  if (!(count >= 1)) throw new CliError(`expected --count to be a positive integer, got "${flags.count}"`)
  const clear = process.stdout.isTTY ? '\u001b[2J\u001b[H' : ''
  await withQuota(flags, async (quota, connection) => {
    for (let refresh = 1; refresh <= count; refresh += 1) {
      process.stdout.write(`${clear}${await frame(quota, connection, flags, top)}\n`)
      if (refresh < count) await sleep(intervalMs)
    }
  })
}

async function frame(quota: TokenQuota, connection: Connection, flags: WatchFlags, top: number): Promise<string> {
  const now = Date.now()
  const today = await periodReport(connection.usage, { now, days: 1, by: 'user' })
  const users = today.consumers.slice(0, top)
  const policies = quota.policies.filter((policy) => policy.identifier === 'user').map((policy) => policy.name)
  const rows = await Promise.all(
    users.map(async (user) => {
      const inspected = await quota.admin.inspect({ ...contextOf(flags), user: user.name })
      const cells = policies.map((name) => {
        const row = inspected.find((candidate) => candidate.policy === name)
        if (!row) return ''
        const share = row.allowed > 0 ? ` ${Math.round((row.used / row.allowed) * 100)}%` : ''
        return `${amount(row.used, row.unit)}/${amount(row.allowed, row.unit)}${share}${row.lastRefusal && row.lastRefusal.at > now - 3_600_000 ? ' refused' : ''}`
      })
      return [user.name, amount(user.tokens, 'tokens'), ...cells]
    }),
  )
  const heading = `tokenquota watch — ${connection.where} — ${instant(now)} — ${amount(today.totals.tokens, 'tokens')} tokens today, ${today.totals.refusals} refused`
  if (rows.length === 0) return `${heading}\n\nno usage recorded today`
  return `${heading}\n\n${table(['USER', 'TODAY', ...policies.map((name) => name.toUpperCase())], rows)}`
}
