// A billing cycle's anchor: where a customer's own monthly or yearly windows start.
import { QuotaInputError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import { fail } from './config-check.js'
import { wallClockOf } from './time-zone.js'

/** What an anchor may be in the context: an instant (a `Date`, epoch ms, an ISO date and time) or a calendar date `YYYY-MM-DD`. */
export type AnchorValue = Date | number | string

/** Where a policy's anchor comes from: a context key, or a function of the context. */
export type AnchorSource = string | ((context: QuotaContext) => AnchorValue | undefined | null)

const dayMs = 86_400_000
/** Years 1970 to 9999: later dates are typos, and window arithmetic stays exact. */
const latestAnchor = Date.UTC(10_000, 0, 1)
const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/

/** Checks a policy's `anchor` field; throws `QuotaConfigError` naming the policy and field. */
export function normalizeAnchorSource(policy: string, anchor: unknown): AnchorSource | undefined {
  if (anchor === undefined) return undefined
  if (typeof anchor === 'function') return anchor as AnchorSource
  if (typeof anchor === 'string' && anchor !== '') return anchor
  return fail('InvalidConfiguration', policy, 'anchor', 'a context key (like `subscribedAt`) or a function of the context', anchor)
}

/**
 * The anchor's calendar day in `timeZone`, as the UTC midnight of that date (what
 * `anchoredWindow` takes), or `undefined` when the context has none.
 * @throws QuotaInputError (`InvalidAnchor`) when the value is not a date
 */
export function anchorDayOf(policy: string, source: AnchorSource, context: QuotaContext, timeZone: string | undefined): number | undefined {
  let value: unknown
  try {
    value = typeof source === 'string' ? context[source] : source(context)
  } catch (error) {
    throw new QuotaInputError({ code: 'PolicyFunctionFailed', policy, message: `the anchor function threw: ${String(error)}`, cause: error })
  }
  if (value === undefined || value === null || value === '') return undefined
  const day = typeof value === 'string' && datePattern.test(value) ? calendarDate(value) : localDay(instantOf(value), timeZone)
  if (day === undefined || day < 0 || day >= latestAnchor) {
    const shown = value instanceof Date ? 'an invalid Date' : `${String(value).slice(0, 80)} (${typeof value})`
    throw new QuotaInputError({
      code: 'InvalidAnchor',
      policy,
      message: `expected the billing-cycle anchor to be a Date, epoch milliseconds, an ISO date and time or a date \`YYYY-MM-DD\` from 1970 to 9999, got ${shown}`,
    })
  }
  return day
}

function instantOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime()
  if (typeof value === 'number') return value
  // A date and time (with `T`): a bare text like "March 3" parses differently across runtimes.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value)) return Date.parse(value)
  return undefined
}

/** A `YYYY-MM-DD` is a calendar date in the policy's time zone, not an instant in UTC. */
function calendarDate(text: string): number | undefined {
  const [year, month, day] = datePattern.exec(text)!.slice(1).map(Number) as [number, number, number]
  const time = Date.UTC(year, month - 1, day)
  const date = new Date(time)
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day ? time : undefined
}

function localDay(instant: number | undefined, timeZone: string | undefined): number | undefined {
  if (instant === undefined || !Number.isFinite(instant) || instant < 0 || instant >= latestAnchor) return undefined
  const wall = timeZone === undefined || timeZone === 'UTC' ? instant : wallClockOf(instant, timeZone)
  return Math.floor(wall / dayMs) * dayMs
}
