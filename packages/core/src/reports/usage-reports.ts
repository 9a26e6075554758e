import { moneyUnits, moneyUnitsPerDollar } from '../price/price-table.js'
import type { TokenQuota } from '../engine/token-quota.js'
import type { QuotaContext } from '../shared/types.js'
import { trackCredits } from './credit-tracking.js'
import { type CreditSummary, creditSummaries } from './credit-usage.js'
import { countTable, MemoryUsageStore, type DayUsage, type UsageDimension, type UsageStore } from './usage-store.js'

const dayMs = 86_400_000

export interface UsageTotals {
  readonly tokens: number
  /** What the priced calls cost (calls under a money policy), in US dollars. */
  readonly costUsd: number
  readonly requests: number
  readonly refusals: number
}

export interface Consumer {
  readonly name: string
  readonly tokens: number
  /** What its priced calls cost, in US dollars. */
  readonly costUsd: number
  /** Fraction of the month's tokens. */
  readonly share: number
}

/** The strategy note's dashboard data, for the current UTC day and month. */
export interface UsageReport {
  readonly generatedAt: number
  readonly today: UsageTotals
  readonly thisMonth: UsageTotals
  /** This month's tokens per hour so far. */
  readonly burnRatePerHour: number
  /** This month's tokens extrapolated to the month's end at the current burn rate. */
  readonly projectedMonth: number
  /** Refused calls over all calls this month. */
  readonly limitHitRate: number
  readonly tokensPerRequest: number
  /** This month, largest first. */
  readonly breakdown: Readonly<Record<'user' | 'project' | 'org' | 'model', readonly Consumer[]>>
  readonly topConsumers: readonly Consumer[]
  /** This month, per balance policy: credits granted, spent, expired and unpaid (empty without balance policies). */
  readonly credits: readonly CreditSummary[]
}

/** An alert from the usage stream: a user burning far above their norm, or spending many tokens per call. */
export interface UsageAlert {
  readonly kind: 'anomaly' | 'efficiency'
  readonly user: string
  readonly day: string
  readonly tokens: number
  readonly requests: number
  /** `anomaly`: the user's average daily tokens over the previous days. */
  readonly norm?: number
  readonly message: string
}

export interface UsageTrackingOptions {
  /** @default new MemoryUsageStore() */
  readonly store?: UsageStore
  /** @default the quota's clock */
  readonly now?: () => number
  /** How many top consumers a report lists. @default 5 */
  readonly top?: number
  readonly alerts?: {
    /** `anomaly` when a user's tokens today exceed this many times their daily norm. @default 3 */
    readonly anomalyFactor?: number
    /** Days the norm is averaged over. @default 7 */
    readonly historyDays?: number
    /** Norms below this many tokens a day raise no anomaly (new or light users). @default 1000 */
    readonly minNorm?: number
    /** `efficiency` when a user's average tokens per call today exceed this (after 3 calls). */
    readonly maxTokensPerRequest?: number
    readonly onAlert?: (alert: UsageAlert) => void
  }
  /** A store write failed (the report then lacks that call). */
  readonly onError?: (error: unknown) => void
}

export interface UsageTracking {
  report(): Promise<UsageReport>
  /** Resolves when every recorded call has reached the store. */
  flush(): Promise<void>
  /** Stops recording. */
  stop(): void
}

export const dayOf = (time: number) => new Date(time).toISOString().slice(0, 10)

function attributionOf(context: QuotaContext, model: string | undefined): Partial<Record<UsageDimension, readonly string[]>> {
  const attribution: Partial<Record<UsageDimension, string[]>> = {}
  for (const dimension of ['user', 'project', 'org'] as const) {
    const value = context[dimension]
    if (typeof value === 'string' && value !== '') attribution[dimension] = [value]
  }
  if (model) attribution.model = [model]
  if (Array.isArray(context.tags)) attribution.tag = context.tags.filter((tag): tag is string => typeof tag === 'string')
  return attribution
}

function ranked(counts: Record<string, number>, costs: Record<string, number>, total: number): Consumer[] {
  return Object.entries(counts)
    .map(([name, tokens]) => ({ name, tokens, costUsd: (costs[name] ?? 0) / moneyUnitsPerDollar, share: total > 0 ? tokens / total : 0 }))
    .sort((a, b) => b.tokens - a.tokens || a.name.localeCompare(b.name))
}

/** Anomaly and efficiency alerts, from the calls this process sees: per day, per user, tokens and calls. */
class UsageAlerts {
  readonly #alerts: NonNullable<UsageTrackingOptions['alerts']>
  readonly #historyDays: number
  readonly #recent = new Map<string, Map<string, { tokens: number; requests: number; alerted: Set<UsageAlert['kind']> }>>()

  constructor(alerts: NonNullable<UsageTrackingOptions['alerts']>) {
    this.#alerts = alerts
    this.#historyDays = alerts.historyDays ?? 7
  }

  note(user: string, day: string, tokens: number): void {
    const alerts = this.#alerts
    const historyDays = this.#historyDays
    const recent = this.#recent
    if (!alerts.onAlert) return
    let users = recent.get(day)
    if (!users) {
      users = new Map()
      recent.set(day, users)
      while (recent.size > historyDays + 1) recent.delete(recent.keys().next().value!)
    }
    let entry = users.get(user)
    if (!entry) {
      entry = { tokens: 0, requests: 0, alerted: new Set() }
      users.set(user, entry)
    }
    entry.tokens += tokens
    entry.requests += 1
    const today = Date.parse(`${day}T00:00:00Z`)
    const history = Array.from({ length: historyDays }, (_, index) => recent.get(dayOf(today - (index + 1) * dayMs))?.get(user)?.tokens ?? 0)
    const norm = history.reduce((sum, value) => sum + value, 0) / historyDays
    const factor = alerts.anomalyFactor ?? 3
    if (!entry.alerted.has('anomaly') && norm >= (alerts.minNorm ?? 1000) && entry.tokens > factor * norm) {
      entry.alerted.add('anomaly')
      alerts.onAlert({
        kind: 'anomaly',
        user,
        day,
        tokens: entry.tokens,
        requests: entry.requests,
        norm,
        message: `${user} has used ${entry.tokens} tokens today, over ${factor}× their daily norm of ${Math.round(norm)}`,
      })
    }
    const perRequest = entry.tokens / entry.requests
    if (alerts.maxTokensPerRequest !== undefined && !entry.alerted.has('efficiency') && entry.requests >= 3 && perRequest > alerts.maxTokensPerRequest) {
      entry.alerted.add('efficiency')
      alerts.onAlert({
        kind: 'efficiency',
        user,
        day,
        tokens: entry.tokens,
        requests: entry.requests,
        message: `${user} averages ${Math.round(perRequest)} tokens per call today, above ${alerts.maxTokensPerRequest}`,
      })
    }
  }
}

/** Tokens and cost per name of one dimension over some days, largest first. */
export function consumersOf(days: readonly DayUsage[], dimension: UsageDimension, total: number): Consumer[] {
  const counts = countTable()
  const costs = countTable()
  for (const day of days) {
    for (const [name, tokens] of Object.entries(day.by[dimension])) counts[name] = (counts[name] ?? 0) + tokens
    for (const [name, units] of Object.entries(day.costBy[dimension])) costs[name] = (costs[name] ?? 0) + units
  }
  return ranked(counts, costs, total)
}

/** Totals of some days. */
export function totalsOf(entries: readonly DayUsage[]): UsageTotals {
  return {
    tokens: entries.reduce((total, day) => total + day.tokens, 0),
    costUsd: entries.reduce((total, day) => total + day.costUnits, 0) / moneyUnitsPerDollar,
    requests: entries.reduce((total, day) => total + day.requests, 0),
    refusals: entries.reduce((total, day) => total + day.refusals, 0),
  }
}

/** The days of `at`'s month up to `at`. */
export function monthDays(at: number): string[] {
  const date = new Date(at)
  const days: string[] = []
  for (let time = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1); time <= at; time += dayMs) days.push(dayOf(time))
  return days
}

/** A report from the month's daily aggregates so far. */
function reportOf(month: readonly DayUsage[], at: number, top: number): UsageReport {
  const date = new Date(at)
  const monthStart = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1)
  const monthEnd = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1)
  const thisMonth = totalsOf(month)
  const merged = (dimension: UsageDimension) => consumersOf(month, dimension, thisMonth.tokens)
  const hours = Math.max(1 / 60, (at - monthStart) / 3_600_000)
  const burnRatePerHour = thisMonth.tokens / hours
  const byUser = merged('user')
  return {
    generatedAt: at,
    today: totalsOf(month.slice(-1)),
    thisMonth,
    burnRatePerHour,
    projectedMonth: Math.round(thisMonth.tokens + burnRatePerHour * ((monthEnd - at) / 3_600_000)),
    limitHitRate: thisMonth.requests + thisMonth.refusals > 0 ? thisMonth.refusals / (thisMonth.requests + thisMonth.refusals) : 0,
    tokensPerRequest: thisMonth.requests > 0 ? thisMonth.tokens / thisMonth.requests : 0,
    breakdown: { user: byUser, project: merged('project'), org: merged('org'), model: merged('model') },
    topConsumers: byUser.slice(0, top),
    credits: creditSummaries(month),
  }
}

/**
 * Records every charged and refused call of a quota, attributed to its user, project, org, model
 * and tags, and builds usage reports from it: today, this month, the projected month, breakdowns,
 * limit-hit rate and top consumers. Daily aggregates go to a `MemoryUsageStore` or, shared by all
 * processes, a `RedisUsageStore`. Anomaly and efficiency alerts are computed in this process, from
 * the calls it sees.
 */
export function trackUsage(quota: TokenQuota, options: UsageTrackingOptions = {}): UsageTracking {
  const store = options.store ?? new MemoryUsageStore()
  const now = options.now ?? quota.now
  const alerts = options.alerts ?? {}
  let pending: Promise<void> = Promise.resolve()
  const write = (run: () => Promise<void>) => {
    pending = pending.then(run).catch((error: unknown) => options.onError?.(error))
  }

  const alerting = new UsageAlerts(alerts)

  const stops = [
    quota.on('usage', (event) => {
      const tokens = event.usage.total
      const day = dayOf(now())
      const attribution = attributionOf(event.context, event.model)
      const costUnits = event.cost && moneyUnits(event.cost.usd)
      write(() => store.addUsage({ day, tokens, attribution, ...(costUnits && { costUnits }) }))
      if (typeof event.context.user === 'string') alerting.note(event.context.user, day, tokens)
    }),
    quota.on('exceeded', () => {
      const day = dayOf(now())
      write(() => store.addRefusal(day))
    }),
    ...trackCredits(quota, store, () => dayOf(now()), write),
  ]

  async function report(): Promise<UsageReport> {
    await pending
    const at = now()
    return reportOf(await store.readDays(monthDays(at)), at, options.top ?? 5)
  }

  return {
    report,
    flush: () => pending,
    stop: () => {
      for (const stop of stops) stop()
    },
  }
}
