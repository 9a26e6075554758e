import { type CreditSummary, creditSummaries } from './credit-usage.js'
import { consumersOf, dayOf, monthDays, totalsOf, type Consumer, type UsageTotals } from './usage-reports.js'
import type { UsageDimension, UsageStore } from './usage-store.js'

const dayMs = 86_400_000
const hourMs = 3_600_000

/** Usage over the last days (the CLI's `report --since`), with the month's projection. */
export interface PeriodReport {
  readonly generatedAt: number
  /** First and last UTC day of the period (`YYYY-MM-DD`). */
  readonly from: string
  readonly to: string
  readonly totals: UsageTotals
  /** The period's tokens per hour (from the start of its first day to now). */
  readonly burnRatePerHour: number
  /** This month's tokens so far, plus the period's burn rate until the month's end. */
  readonly projectedMonth: number
  readonly tokensPerRequest: number
  readonly by: UsageDimension
  /** Per name of `by`, largest first. */
  readonly consumers: readonly Consumer[]
  /** Per balance policy over the period: credits granted, spent, expired and unpaid, in its unit. */
  readonly credits: readonly CreditSummary[]
}

export interface PeriodReportOptions {
  readonly now: number
  /** Days back, today included. @default 7 */
  readonly days?: number
  /** @default 'user' */
  readonly by?: UsageDimension
}

/** A report over the last `days` UTC days from a usage store's daily aggregates. */
export async function periodReport(store: UsageStore, options: PeriodReportOptions): Promise<PeriodReport> {
  const { now } = options
  const count = Math.max(1, Math.floor(options.days ?? 7))
  const today = Date.parse(dayOf(now))
  const periodDays = Array.from({ length: count }, (_, index) => dayOf(today - (count - 1 - index) * dayMs))
  const month = monthDays(now)
  const wanted = [...new Set([...periodDays, ...month])]
  const read = await store.readDays(wanted)
  const byDay = new Map(wanted.map((day, index) => [day, read[index]!]))
  const period = periodDays.map((day) => byDay.get(day)!)
  const totals = totalsOf(period)
  const burnRatePerHour = totals.tokens / Math.max(1 / 60, (now - Date.parse(periodDays[0]!)) / hourMs)
  const date = new Date(now)
  const monthEnd = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)
  const monthTokens = totalsOf(month.map((day) => byDay.get(day)!)).tokens
  const by = options.by ?? 'user'
  return {
    generatedAt: now,
    from: periodDays[0]!,
    to: periodDays.at(-1)!,
    totals,
    burnRatePerHour,
    projectedMonth: Math.round(monthTokens + burnRatePerHour * ((monthEnd - now) / hourMs)),
    tokensPerRequest: totals.requests > 0 ? totals.tokens / totals.requests : 0,
    by,
    consumers: consumersOf(period, by, totals.tokens),
    credits: creditSummaries(period),
  }
}
