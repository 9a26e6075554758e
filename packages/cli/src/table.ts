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

/** A count with thousands separators; dollars with cents, and the fractions of a cent a dollar counter holds (to 1e-8, 8 decimals). */
export function amount(value: number, unit: string): string {
  if (unit !== 'usd') return Math.round(value).toLocaleString('en-US')
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 8, useGrouping: false })}`
}

/** An instant as `2026-11-30 14:05 UTC`. */
export function instant(time: number): string {
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
