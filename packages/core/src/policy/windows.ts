import type { TimeUnit } from '../shared/types.js'
import { instantOfWallClock, wallClockOf } from './time-zone.js'

/** Length of the units that have one. Months and years are calendar arithmetic instead. */
export const unitMs = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 604_800_000,
} as const

const dayMs = unitMs.day
/** 1970-01-04 00:00 UTC, the first Sunday after the epoch: weeks start on Sunday. */
const firstSunday = 3 * dayMs

/** Number of buckets a rolling window is split into: memory per identifier is bounded by this + 1. */
export const rollingBuckets = 60

export interface FixedWindow {
  readonly start: number
  readonly end: number
}

function isCalendarUnit(unit: TimeUnit): unit is 'month' | 'year' {
  return unit === 'month' || unit === 'year'
}

function monthsPerUnit(unit: 'month' | 'year'): number {
  return unit === 'month' ? 1 : 12
}

/**
 * Adds whole months in UTC. The day of month is clamped to the target month's length
 * (31 January + 1 month = 28 or 29 February), and the time of day is kept.
 */
export function addMonths(time: number, months: number): number {
  const date = new Date(time)
  const year = date.getUTCFullYear()
  const targetMonth = date.getUTCMonth() + months
  const daysInTarget = new Date(Date.UTC(year, targetMonth + 1, 0)).getUTCDate()
  const day = Math.min(date.getUTCDate(), daysInTarget)
  return Date.UTC(year, targetMonth, day, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds())
}

/** `time` plus `amount` units; months and years follow the calendar (see {@link addMonths}). */
export function addUnits(time: number, amount: number, unit: TimeUnit): number {
  return isCalendarUnit(unit) ? addMonths(time, amount * monthsPerUnit(unit)) : time + amount * unitMs[unit]
}

/**
 * The `default` window containing `now`: aligned to unit boundaries in UTC or in `timeZone`'s
 * local time, counted from the epoch in multiples of `interval` (days start at midnight, weeks on
 * Sunday, months on the 1st). A local day across a daylight-saving change lasts 23 or 25 hours.
 */
export function alignedWindow(now: number, interval: number, unit: TimeUnit, timeZone?: string): FixedWindow {
  if (timeZone === undefined || timeZone === 'UTC') return alignedUtcWindow(now, interval, unit)
  const local = alignedUtcWindow(wallClockOf(now, timeZone), interval, unit)
  return { start: instantOfWallClock(local.start, timeZone), end: instantOfWallClock(local.end, timeZone) }
}

function alignedUtcWindow(now: number, interval: number, unit: TimeUnit): FixedWindow {
  if (isCalendarUnit(unit)) {
    const date = new Date(now)
    const span = interval * monthsPerUnit(unit)
    const monthIndex = (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth()
    const first = Math.floor(monthIndex / span) * span
    return { start: Date.UTC(1970, first, 1), end: Date.UTC(1970, first + span, 1) }
  }
  const length = interval * unitMs[unit]
  const origin = unit === 'week' ? firstSunday : 0
  const start = origin + Math.floor((now - origin) / length) * length
  return { start, end: start + length }
}

/**
 * The `calendar` window containing `now`: windows of `interval` units that start at `startTime`.
 * Before `startTime` the same grid extends backwards, so every instant has exactly one window.
 */
export function calendarWindow(now: number, startTime: number, interval: number, unit: TimeUnit): FixedWindow {
  if (!isCalendarUnit(unit)) {
    const length = interval * unitMs[unit]
    const start = startTime + Math.floor((now - startTime) / length) * length
    return { start, end: start + length }
  }
  const span = interval * monthsPerUnit(unit)
  const origin = new Date(startTime)
  const current = new Date(now)
  const monthsBetween = (current.getUTCFullYear() - origin.getUTCFullYear()) * 12 + current.getUTCMonth() - origin.getUTCMonth()
  let index = Math.floor(monthsBetween / span)
  // The month count is off by at most one window (day-of-month and time-of-day); step to the exact one.
  while (addMonths(startTime, index * span) > now) index -= 1
  while (addMonths(startTime, (index + 1) * span) <= now) index += 1
  return { start: addMonths(startTime, index * span), end: addMonths(startTime, (index + 1) * span) }
}

/**
 * A billing cycle anchored to a customer: the window of `interval` months (or years) containing
 * `now` whose grid starts at local midnight of `anchorDay` (a calendar date written as the UTC
 * midnight of that date) in `timeZone`. Each start keeps the anchor's day of month, clamped to the
 * month's length (an anchor on 31 January: 28 or 29 February, then 31 March). A local day across a
 * daylight-saving change lasts 23 or 25 hours, so a cycle does too.
 */
export function anchoredWindow(now: number, anchorDay: number, interval: number, unit: 'month' | 'year', timeZone?: string): FixedWindow {
  if (timeZone === undefined || timeZone === 'UTC') return calendarWindow(now, anchorDay, interval, unit)
  const local = calendarWindow(wallClockOf(now, timeZone), anchorDay, interval, unit)
  return { start: instantOfWallClock(local.start, timeZone), end: instantOfWallClock(local.end, timeZone) }
}

/**
 * Length of a `rollingwindow`. Rolling windows slide by the millisecond, so they have a fixed
 * length: a month is 30 days and a year 365 days.
 */
export function rollingLengthMs(interval: number, unit: TimeUnit): number {
  if (unit === 'month') return interval * 30 * dayMs
  if (unit === 'year') return interval * 365 * dayMs
  return interval * unitMs[unit]
}

/**
 * Parses a `startTime` in Apigee's notation, `YYYY-MM-DD HH:mm:ss` in UTC (`T` is accepted for the
 * space, and `24:00:00` is midnight at the end of that day). Returns epoch ms, or `undefined` when the
 * text is not a real date and time.
 */
export function parseStartTime(text: string): number | undefined {
  const match = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2}):(\d{2})(?:Z)?$/.exec(text.trim())
  if (!match) return undefined
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [number, number, number, number, number, number]
  if (year < 1970 || month < 1 || month > 12 || day < 1 || minute > 59 || second > 59) return undefined
  if (hour > 24 || (hour === 24 && (minute !== 0 || second !== 0))) return undefined
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (day > daysInMonth) return undefined
  return Date.UTC(year, month - 1, day, hour, minute, second)
}
