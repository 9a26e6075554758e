import type { PolicyInspection } from '@tokenquota/core'
import { terminal } from '../terminal.js'
import { type ContextFlags, contextOf } from '../context.js'
import { inspectKnown } from '../scope.js'
import { printJson, requireCaller, type SessionFlags, withQuota } from '../session.js'
import { printable } from '../printable.js'
import { amount, instant, table } from '../table.js'

export interface StatusFlags extends SessionFlags, ContextFlags {
  readonly json?: boolean
}

/** `tokenquota status --user alice`: every policy's window for one caller, with overrides and the last refusal. */
export async function status(flags: StatusFlags): Promise<void> {
  const context = contextOf(flags)
  requireCaller(context)
  await withQuota(flags, async (quota) => {
    const rows = await inspectKnown(quota, context)
    if (flags.json) return printJson(rows)
    terminal().out(`${statusTable(rows)}\n`)
    for (const row of rows)
      if (row.lastRefusal) terminal().out(`\nlast refusal on ${printable(row.policy)}, ${instant(row.lastRefusal.at)}: ${printable(row.lastRefusal.reason)}\n`)
  })
}

export function statusTable(rows: readonly PolicyInspection[]): string {
  return table(
    ['POLICY', 'IDENTIFIER', 'CLASS', 'USED', 'RESERVED', 'ALLOWED', 'AVAILABLE', 'RESETS', 'OVERRIDES'],
    rows.map((row) => [
      row.policy,
      row.identifier ?? '(shared)',
      row.class ?? '',
      amount(row.used, row.unit),
      amount(row.reserved, row.unit),
      amount(row.allowed, row.unit),
      amount(row.available, row.unit),
      row.type === 'balance' ? 'never (balance)' : instant(row.resetAt),
      row.overrides.map((override) => overrideText(override, row.unit)).join('; '),
    ]),
  )
}

function overrideText(override: PolicyInspection['overrides'][number], unit: string): string {
  const what = override.kind === 'grant' ? `+${amount(override.amount, unit)}` : `allow ${amount(override.amount, unit)}`
  const scope = override.scope === 'class' ? ' (class)' : ''
  return `${what}${scope}${override.until === undefined ? '' : ` until ${instant(override.until)}`}`
}
