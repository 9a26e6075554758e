import { CliError } from './cli-error.js'

const units: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--until`: an ISO date (`2026-12-01`, midnight UTC), an ISO date-time, or a duration from now (`30m`, `2h`, `7d`). */
export function untilOf(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined
  const relative = /^(\d+)([mhd])$/.exec(text)
  if (relative) return now + Number(relative[1]) * units[relative[2]!]!
  const time = Date.parse(text)
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(time))
    throw new CliError(`expected --until to be a date (2026-12-01), a date-time or a duration (2h, 7d), got "${text}"`)
  return time
}
