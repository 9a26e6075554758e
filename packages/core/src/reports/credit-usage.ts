import { moneyUnits, moneyUnitsPerDollar } from '../price/price-table.js'
import type { PolicyUnit } from '../policy/normalized-policy.js'

/**
 * How credits moved on a balance: topped up (`granted`), charged by calls (`spent`, as the `usage`
 * event says: the unpaid part included), lost at expiry (`expired`), or charged beyond what the
 * balance held (`unpaid`, part of `spent`).
 */
export const creditMovements = ['granted', 'spent', 'expired', 'unpaid'] as const
export type CreditMovement = (typeof creditMovements)[number]

/** One balance policy's credit movements over a day, in counter units (tokens, or units of 1e-8 dollar). */
export interface CreditDay {
  readonly unit: PolicyUnit
  readonly granted: number
  readonly spent: number
  readonly expired: number
  readonly unpaid: number
}

/** One credit movement, attributed to its balance policy. */
export interface CreditRecord {
  readonly day: string
  readonly policy: string
  readonly unit: PolicyUnit
  readonly movement: CreditMovement
  /** In the policy's unit (tokens, or dollars). */
  readonly amount: number
}

/** A balance policy's credits over a report's period, in its unit (dollars for a `usd` balance). */
export interface CreditSummary {
  readonly policy: string
  readonly unit: PolicyUnit
  readonly granted: number
  readonly spent: number
  readonly expired: number
  readonly unpaid: number
}

/** An amount in the policy's unit as whole counter units (what the aggregates add). */
export function creditUnits(unit: PolicyUnit, amount: number): number {
  return unit === 'usd' ? moneyUnits(amount) : Math.round(amount)
}

/** Per balance policy, the movements of some days added up, in the policy's unit; policies in name order. */
export function creditSummaries(days: ReadonlyArray<{ readonly credits: Readonly<Record<string, CreditDay>> }>): CreditSummary[] {
  const totals = new Map<string, CreditDayEntry>()
  for (const day of days) {
    for (const [policy, credits] of Object.entries(day.credits)) {
      const total = totals.get(policy) ?? { unit: credits.unit, granted: 0, spent: 0, expired: 0, unpaid: 0 }
      for (const movement of creditMovements) total[movement] += credits[movement]
      totals.set(policy, total)
    }
  }
  return [...totals]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([policy, total]) => {
      const scale = total.unit === 'usd' ? moneyUnitsPerDollar : 1
      return {
        policy,
        unit: total.unit,
        granted: total.granted / scale,
        spent: total.spent / scale,
        expired: total.expired / scale,
        unpaid: total.unpaid / scale,
      }
    })
}

type CreditDayEntry = { unit: PolicyUnit } & Record<CreditMovement, number>

/** A day's credits table (policy → movements). No prototype: a policy named `constructor` is a plain key. */
export function creditTable(): Record<string, CreditDayEntry> {
  return Object.create(null) as Record<string, CreditDayEntry>
}

/** Adds a record to a day's credits table. */
export function addCredit(table: Record<string, CreditDayEntry>, record: CreditRecord): void {
  const entry = table[record.policy] ?? { unit: record.unit, granted: 0, spent: 0, expired: 0, unpaid: 0 }
  entry[record.movement] += creditUnits(record.unit, record.amount)
  table[record.policy] = entry
}
