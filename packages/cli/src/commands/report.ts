import { type CreditSummary, periodReport, type UsageDimension } from '@tokenquota/core/reports'
import { terminal } from '../terminal.js'
import { CliError } from '../cli-error.js'
import { countOf } from '../numbers.js'
import { connect, type StoreFlags, timeoutOf } from '../connect.js'
import { loadPolicies } from '../policies.js'
import { printJson } from '../session.js'
import { amount, table } from '../table.js'

export interface ReportFlags extends StoreFlags {
  /** Taken like every command's; the report reads usage only, so it just checks the file. */
  readonly config?: string
  readonly since: string
  readonly by: string
  readonly top: string
  readonly json?: boolean
}

const dimensions: readonly UsageDimension[] = ['user', 'model', 'project', 'org', 'tag']

/**
 * `tokenquota report --since 7d --by user`: top consumers, burn rate and the month's projection, and the credits
 * granted, spent and expired per balance policy (needs `trackUsage` on a RedisUsageStore in the app).
 */
export async function report(flags: ReportFlags): Promise<void> {
  const days = /^(\d+)d$/.exec(flags.since)
  if (!days || Number(days[1]) < 1 || Number(days[1]) > 62) throw new CliError(`expected --since to be a number of days from 1d to 62d, got "${flags.since}"`)
  if (!dimensions.includes(flags.by as UsageDimension)) throw new CliError(`expected --by to be one of ${dimensions.join(', ')}, got "${flags.by}"`)
  const top = countOf(flags.top, '--top')
  if (flags.config !== undefined) await loadPolicies(flags.config, timeoutOf(flags))
  const connection = await connect(flags)
  try {
    const result = await periodReport(connection.usage, { now: Date.now(), days: Number(days[1]), by: flags.by as UsageDimension })
    if (flags.json) return printJson({ ...result, consumers: result.consumers.slice(0, top) })
    const { totals } = result
    // Calls carry a price only under a money policy: an app without one gets no dollar figures.
    const priced = totals.costUsd > 0
    const cost = priced ? `, ${amount(totals.costUsd, 'usd')} priced` : ''
    const header = [result.by.toUpperCase(), 'TOKENS', 'SHARE', ...(priced ? ['COST'] : [])]
    const rows = result.consumers
      .slice(0, top)
      .map((consumer) => [
        consumer.name,
        amount(consumer.tokens, 'tokens'),
        `${(consumer.share * 100).toFixed(1)}%`,
        ...(priced ? [amount(consumer.costUsd, 'usd')] : []),
      ])
    terminal().out(
      [
        `usage ${result.from} → ${result.to} (UTC days), by ${result.by}`,
        `tokens ${amount(totals.tokens, 'tokens')} in ${amount(totals.requests, 'tokens')} calls (${amount(result.tokensPerRequest, 'tokens')} per call), ${totals.refusals} refused${cost}`,
        `burn rate ${amount(result.burnRatePerHour, 'tokens')} tokens/hour; this month projected at ${amount(result.projectedMonth, 'tokens')} tokens`,
        '',
        table(header, rows),
        '',
        ...creditLines(result.credits),
      ].join('\n'),
    )
  } finally {
    await connection.close()
  }
}

/** The period's credits per balance policy (none without balance policies): granted, spent, expired, unpaid. */
function creditLines(credits: readonly CreditSummary[]): string[] {
  if (credits.length === 0) return []
  const rows = credits.map((credit) => [
    credit.policy,
    credit.unit,
    ...[credit.granted, credit.spent, credit.expired, credit.unpaid].map((value) => amount(value, credit.unit)),
  ])
  return ['credits (balance policies)', table(['POLICY', 'UNIT', 'GRANTED', 'SPENT', 'EXPIRED', 'UNPAID'], rows), '']
}
