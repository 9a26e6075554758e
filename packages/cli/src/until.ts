import { CliError } from './cli-error.js'

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--until`: an ISO date (`2026-12-01`, midnight UTC), an ISO date-time (UTC unless it names a zone), or a duration from now (`30m`, `2h`, `7d`). */
export function untilOf(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined
  const relative = /^(\d+)([mhd])$/.exec(text)
  if (relative) return now + Number(relative[1]) * units[relative[2]!]!
  return instantOf(text, '--until', 'a date (2026-12-01), a date-time or a duration (2h, 7d)')
}

/**
 * `credits add --expires`: an ISO date or date-time only. A duration would name another instant at
 * each run, so a re-run with the same `--key` would be a different top-up (refused as a key reused).
 */
export function expiresOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  if (/^\d+[mhd]$/.test(text))
    throw new CliError(
      `expected --expires to be a date (YYYY-MM-DD) or a date-time, got the duration "${text}": a re-run with the same --key must name the same instant`,
    )
  return instantOf(text, '--expires', 'a date (YYYY-MM-DD) or a date-time')
}

/** `Date.parse` rolls a day past the month's end into the next month (`2027-02-30` → 2 March): refuse it. */
function isCalendarDay(year: number, month: number, day: number): boolean {
  const date = new Date(Date.UTC(year, month - 1, day))
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** A date-time without a zone (`2099-03-01T10:30`), which `Date.parse` reads in the machine's zone. */
const zoneless = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/

function instantOf(text: string, flag: string, expected: string): number {
  // UTC, as everything the CLI prints: the same flag names the same instant on every machine.
  const time = Date.parse(zoneless.test(text) ? `${text.replace(' ', 'T')}Z` : text)
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(text)
  if (!ymd || Number.isNaN(time) || !isCalendarDay(Number(ymd[1]), Number(ymd[2]), Number(ymd[3])))
    throw new CliError(`expected ${flag} to be ${expected}, got "${text}"`)
  return time
}
