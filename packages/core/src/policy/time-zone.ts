// Wall-clock arithmetic in an IANA time zone with Intl only (no tz database shipped): a window of
// local days is the same window of "UTC-as-wall-clock" days, mapped back to instants.

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/** Whether the runtime knows `timeZone` as an IANA zone (or `UTC`). */
export function isTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== 'string' || timeZone === '') return false
  try {
    formatterOf(timeZone)
    return true
  } catch {
    return false
  }
}

/** The zone's offset from UTC at `time`, in ms (New York in winter: −5 h). */
function offsetAt(time: number, timeZone: string): number {
  const fields: Record<string, number> = {}
  for (const part of formatterOf(timeZone).formatToParts(time)) if (part.type !== 'literal') fields[part.type] = Number(part.value)
  const wall = Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!)
  return wall - (time - (((time % 1000) + 1000) % 1000))
}

/** The wall-clock time at `time` in `timeZone`, as the UTC instant that shows the same date and time. */
export function wallClockOf(time: number, timeZone: string): number {
  return time + offsetAt(time, timeZone)
}

/**
 * The instant at which `timeZone`'s clocks show `wall` (a wall-clock time written as a UTC
 * instant). A time that occurs twice (clocks turned back) is its first occurrence; one that never
 * occurs (clocks turned forward) is read at the offset before the change (02:30 in a gap from 02:00
 * to 03:00 is 03:30). Windows stay contiguous either way: a window ends where the next starts.
 */
export function instantOfWallClock(wall: number, timeZone: string): number {
  const before = wall - offsetAt(wall - 86_400_000, timeZone)
  const after = wall - offsetAt(wall + 86_400_000, timeZone)
  // Same offset a day either side: no change in between, one answer.
  if (before === after) return before
  const occurrences = [before, after].filter((instant) => wallClockOf(instant, timeZone) === wall)
  return occurrences.length === 0 ? before : Math.min(...occurrences)
}
