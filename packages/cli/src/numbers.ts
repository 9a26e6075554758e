import { CliError } from './cli-error.js'

// Plain decimals only: `Number()` would also take `0x10`, ` 5`, `1e3` and `Infinity`.
const decimal = /^\d+(_\d+)*(\.\d+)?$/

/** A flag's number as typed in plain decimal (`50000`, `50_000`, `0.5`), or `undefined` for any other spelling. */
function decimalOf(text: string): number | undefined {
  return decimal.test(text) ? Number(text.replaceAll('_', '')) : undefined
}

/** A non-negative amount from a flag (`50000`, `50_000`, `0.5` for dollars). */
export function amountOf(text: string, flag: string): number {
  const value = decimalOf(text)
  if (value === undefined) throw new CliError(`expected ${flag} to be a non-negative number, got "${text}"`)
  return value
}

/** A count from a flag (`--top 10`): a positive integer. */
export function countOf(text: string, flag: string): number {
  const value = decimalOf(text)
  if (value === undefined || !Number.isInteger(value) || value < 1) throw new CliError(`expected ${flag} to be a positive integer, got "${text}"`)
  return value
}

// setTimeout fires at once for a longer delay (with a TimeoutOverflowWarning).
const longestTimerMs = 2 ** 31 - 1

/** Seconds from a flag (`--timeout 10`, `--interval 0.5`), in milliseconds; from `minimumMs` to the longest a timer waits. */
export function secondsOf(text: string, flag: string, minimumMs = 1): number {
  const value = decimalOf(text)
  const ms = value === undefined ? Number.NaN : value * 1000
  if (!(ms >= minimumMs && ms <= longestTimerMs))
    throw new CliError(`expected ${flag} to be a number of seconds from ${minimumMs / 1000} to ${Math.floor(longestTimerMs / 1000)}, got "${text}"`)
  return ms
}

/** A whole number from a flag within `[min, max]` (`--priority 0`…`100`, `--after 0`). */
export function integerOf(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = decimalOf(text)
  if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`
    throw new CliError(`expected ${flag} to be a whole number ${range}, got "${text}"`)
  }
  return value
}
