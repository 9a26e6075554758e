import { addCredit, type CreditDay, type CreditRecord, creditTable } from './credit-usage.js'

/** What one day holds: totals and per-dimension token counts. */
export interface DayUsage {
  readonly tokens: number
  readonly requests: number
  readonly refusals: number
  /** Per dimension (`user`, `project`, `org`, `model`, `tag`), value → tokens. */
  readonly by: Readonly<Record<UsageDimension, Readonly<Record<string, number>>>>
  /** Per user: requests (for tokens per request). */
  readonly requestsByUser: Readonly<Record<string, number>>
  /** What the priced calls cost, in units of ten nano-dollars (1e-8 US dollar; calls under a money policy carry a price). */
  readonly costUnits: number
  /** Per dimension, value → units of ten nano-dollars. */
  readonly costBy: Readonly<Record<UsageDimension, Readonly<Record<string, number>>>>
  /** Per balance policy: credits granted, spent, expired and unpaid (counter units). Empty for a store without `addCredit`. */
  readonly credits: Readonly<Record<string, CreditDay>>
}

export const usageDimensions = ['user', 'project', 'org', 'model', 'tag'] as const
export type UsageDimension = (typeof usageDimensions)[number]

/** One charged call, attributed. */
export interface UsageRecord {
  readonly day: string
  readonly tokens: number
  /** The call's price in units of ten nano-dollars (1e-8 US dollar), when it had one. */
  readonly costUnits?: number
  readonly attribution: Partial<Record<UsageDimension, readonly string[]>>
}

/** Where usage reports keep their daily aggregates. */
export interface UsageStore {
  addUsage(record: UsageRecord): Promise<void>
  addRefusal(day: string): Promise<void>
  /** Records a credit movement (a top-up, a charge to a balance, an expiry). A store without it leaves credits out of its reports. */
  addCredit?(record: CreditRecord): Promise<void>
  readDays(days: readonly string[]): Promise<readonly DayUsage[]>
}

/** A name → count table. No prototype: names such as `constructor` or `__proto__` are plain keys. */
export function countTable(): Record<string, number> {
  return Object.create(null) as Record<string, number>
}

/** A day with nothing counted yet. */
export function emptyDay(): {
  tokens: number
  requests: number
  refusals: number
  by: Record<UsageDimension, Record<string, number>>
  requestsByUser: Record<string, number>
  costUnits: number
  costBy: Record<UsageDimension, Record<string, number>>
  credits: ReturnType<typeof creditTable>
} {
  const perDimension = () => ({ user: countTable(), project: countTable(), org: countTable(), model: countTable(), tag: countTable() })
  return { tokens: 0, requests: 0, refusals: 0, by: perDimension(), requestsByUser: countTable(), costUnits: 0, costBy: perDimension(), credits: creditTable() }
}

/** Usage aggregates in this process's memory, one entry per day, older than `keepDays` dropped. */
export class MemoryUsageStore implements UsageStore {
  readonly #days = new Map<string, ReturnType<typeof emptyDay>>()
  readonly #keepDays: number

  constructor(options: { keepDays?: number } = {}) {
    this.#keepDays = options.keepDays ?? 62
  }

  #day(day: string) {
    let entry = this.#days.get(day)
    if (!entry) {
      entry = emptyDay()
      this.#days.set(day, entry)
      // Days are added in order: drop the oldest beyond the retention.
      while (this.#days.size > this.#keepDays) this.#days.delete(this.#days.keys().next().value!)
    }
    return entry
  }

  async addUsage(record: UsageRecord): Promise<void> {
    const day = this.#day(record.day)
    day.tokens += record.tokens
    day.requests += 1
    const cost = record.costUnits ?? 0
    day.costUnits += cost
    for (const [dimension, values] of Object.entries(record.attribution) as Array<[UsageDimension, readonly string[]]>) {
      for (const value of values) {
        day.by[dimension][value] = (day.by[dimension][value] ?? 0) + record.tokens
        if (cost > 0) day.costBy[dimension][value] = (day.costBy[dimension][value] ?? 0) + cost
      }
    }
    for (const user of record.attribution.user ?? []) day.requestsByUser[user] = (day.requestsByUser[user] ?? 0) + 1
  }

  async addRefusal(day: string): Promise<void> {
    this.#day(day).refusals += 1
  }

  async addCredit(record: CreditRecord): Promise<void> {
    addCredit(this.#day(record.day).credits, record)
  }

  async readDays(days: readonly string[]): Promise<readonly DayUsage[]> {
    return days.map((day) => this.#days.get(day) ?? emptyDay())
  }
}
