import { printable } from './printable.js'

/** The widest a cell is shown in a table; a longer one (a user id kilobytes long) ends in `…`. */
const maxCellWidth = 40

function fitted(cell: string): string {
  const shown = printable(cell)
  return shown.length > maxCellWidth ? `${shown.slice(0, maxCellWidth - 1)}…` : shown
}

/**
 * Rows as aligned columns under a header, for people; numbers are right-aligned; control characters
 * are escaped; a cell over 40 characters, but in the last column, is cut with `…` (`--json` keeps it whole).
 */
export function table(header: readonly string[], cells: ReadonlyArray<readonly string[]>): string {
  // The last column (status's overrides, a free text) is not cut: it pads no other cell.
  const rows = cells.map((row) => row.map((cell, column) => (column === header.length - 1 ? printable(cell) : fitted(cell))))
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^-?[\d,.]+%?$|^$/.test(row[column] ?? '')))
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

/**
 * A count with thousands separators; dollars with cents, and the fractions of a cent a grant of `0.001`
 * adds (up to 6 decimals). What `toLocaleString('en-US', …)` prints, without it: its first call loads
 * ICU's number formats, ~35 ms of CPU in each CLI run (table.test.ts holds the two together).
 */
export function amount(value: number, unit: string): string {
  const dollars = unit === 'usd'
  const shown = dollars ? value : Math.round(value)
  // Intl prints the sign of -0 (a count of -0.4 rounds to -0).
  const sign = shown < 0 || Object.is(shown, -0) ? '-' : ''
  return `${dollars ? '$' : ''}${sign}${digitsOf(Math.abs(shown), dollars)}`
}

function digitsOf(size: number, dollars: boolean): string {
  if (Number.isNaN(size)) return 'NaN'
  if (size === Number.POSITIVE_INFINITY) return '∞'
  return dollars ? fixed(size, 6).replace(/0{1,4}$/, '') : fixed(size, 0).replace(/\B(?=(\d{3})+$)/g, ',')
}

/**
 * `value` (≥ 0) with `decimals` decimals, rounded as Intl rounds: its shortest decimal digits (those
 * `String(value)` prints), half away from zero. `toFixed` rounds the binary value instead
 * (`(5e-7).toFixed(6)` is `0.000000`, Intl's `0.000001`) and prints the digits past the shortest.
 */
function fixed(value: number, decimals: number): string {
  const [mantissa = '', exponent = ''] = value.toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const kept = Number(exponent) + 1 + decimals
  const scaled = kept <= 0 ? 0n : BigInt(digits.slice(0, kept).padEnd(kept, '0'))
  const next = kept < 0 ? '0' : (digits[kept] ?? '0')
  const text = (scaled + (next >= '5' ? 1n : 0n)).toString().padStart(decimals + 1, '0')
  return decimals === 0 ? text : `${text.slice(0, -decimals)}.${text.slice(-decimals)}`
}

/** An instant as `2026-11-30 14:05 UTC`. */
export function instant(time: number): string {
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
