import { printable } from './printable.js'

/** Rows as aligned columns under a header, for people; numbers are right-aligned; control characters are escaped. */
export function table(header: readonly string[], cells: ReadonlyArray<readonly string[]>): string {
  const rows = cells.map((row) => row.map(printable))
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^-?[\d,.]+%?$|^$/.test(row[column] ?? '')))
  const line = (row: readonly string[]) =>
    row
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd()
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n')
}

/** A count with thousands separators; dollars with cents. */
export function amount(value: number, unit: string): string {
  return unit === 'usd' ? `$${value.toFixed(2)}` : Math.round(value).toLocaleString('en-US')
}

/** An instant as `2026-11-30 14:05 UTC`. */
export function instant(time: number): string {
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
