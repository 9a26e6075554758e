import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { amount } from './table.js'

// amount() prints what toLocaleString('en-US') would, without loading ICU's number formats.
const intl = (value: number, unit: string) =>
  unit === 'usd'
    ? `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6, useGrouping: false })}`
    : Math.round(value).toLocaleString('en-US')

const edges = [0, -0, -0.4, 0.5, -0.5, 1.5, -1.5, 999, 1000, -1000, 999_999.5, 1234567.891, 0.0000005, 0.0000015, -0.0000001, 1e20, -1e20, 1e21, 1e300]
const units = ['tokens', 'usd', 'requests']

describe('amount', () => {
  it.each(units)('prints %s as toLocaleString would, at the edges (rounding, signs, -0, thousands, toFixed’s range)', (unit) => {
    for (const value of [...edges, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN])
      expect(amount(value, unit), String(value)).toBe(intl(value, unit))
  })

  it('prints any number as toLocaleString would', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.double({ min: -1e7, max: 1e7 }),
          // Ties: half a token, half of a millionth of a dollar.
          fc.integer().map((n) => n / 2),
          fc.integer().map((n) => n / 2e6),
          fc.bigInt({ min: -(10n ** 25n), max: 10n ** 25n }).map(Number),
        ),
        fc.constantFrom(...units),
        (value, unit) => amount(value, unit) === intl(value, unit),
      ),
      { numRuns: 2000 },
    )
  })
})
