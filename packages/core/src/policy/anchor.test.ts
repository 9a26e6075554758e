import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { QuotaConfigError, QuotaInputError } from '../shared/errors.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { anchorDayOf } from './anchor.js'
import { normalizePolicy } from './policy.js'
import type { QuotaPolicy } from './policy-types.js'
import { anchoredWindow } from './windows.js'

const iso = (time: number) => new Date(time).toISOString()
const isLeap = (year: number) => new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1
/** Years after the clock's (never today's date): the next leap year and the next year that is not one. */
const clockYear = new Date(createFakeClock().now()).getUTCFullYear()
const yearAfter = (leap: boolean) => {
  let year = clockYear + 1
  while (isLeap(year) !== leap) year += 1
  return year
}
const cyclesFrom = (anchorDay: number, count: number, unit: 'month' | 'year' = 'month', timeZone?: string) => {
  const starts: string[] = []
  let at = anchoredWindow(anchorDay + 86_400_000, anchorDay, 1, unit, timeZone).start
  for (let index = 0; index < count; index += 1) {
    starts.push(iso(at))
    at = anchoredWindow(at, anchorDay, 1, unit, timeZone).end
  }
  return starts
}

describe('anchoredWindow (billing cycles)', () => {
  it.each([false, true])('an anchor on 31 January: 28 February (29 in a leap year: %s), 31 March, 30 April, 31 May', (leap) => {
    const year = yearAfter(leap)
    const february = leap ? 29 : 28
    expect(cyclesFrom(Date.UTC(year, 0, 31), 5)).toEqual([
      `${year}-01-31T00:00:00.000Z`,
      `${year}-02-${february}T00:00:00.000Z`,
      `${year}-03-31T00:00:00.000Z`,
      `${year}-04-30T00:00:00.000Z`,
      `${year}-05-31T00:00:00.000Z`,
    ])
  })

  it('yearly from 29 February: 28 February in common years, 29 again in the next leap year', () => {
    const leap = yearAfter(true)
    expect(cyclesFrom(Date.UTC(leap, 1, 29), 5, 'year')).toEqual([
      `${leap}-02-29T00:00:00.000Z`,
      `${leap + 1}-02-28T00:00:00.000Z`,
      `${leap + 2}-02-28T00:00:00.000Z`,
      `${leap + 3}-02-28T00:00:00.000Z`,
      `${leap + 4}-02-29T00:00:00.000Z`,
    ])
  })

  it('a time zone moves the boundary to local midnight', () => {
    const year = yearAfter(false)
    const anchorDay = Date.UTC(year, 0, 31)
    // Tokyo is UTC+9 all year: local midnight of 28 February is 15:00 UTC the day before.
    const tokyo = anchoredWindow(Date.UTC(year, 1, 27, 14, 59, 59, 999), anchorDay, 1, 'month', 'Asia/Tokyo')
    expect([iso(tokyo.start), iso(tokyo.end)]).toEqual([`${year}-01-30T15:00:00.000Z`, `${year}-02-27T15:00:00.000Z`])
    expect(iso(anchoredWindow(tokyo.end, anchorDay, 1, 'month', 'Asia/Tokyo').start)).toBe(`${year}-02-27T15:00:00.000Z`)
    // New York in winter is UTC−5: the cycle still runs at 04:59 UTC on the 28th, the next starts at 05:00.
    const newYork = anchoredWindow(Date.UTC(year, 1, 28, 4, 59), anchorDay, 1, 'month', 'America/New_York')
    expect([iso(newYork.start), iso(newYork.end)]).toEqual([`${year}-01-31T05:00:00.000Z`, `${year}-02-28T05:00:00.000Z`])
  })

  it('across a daylight-saving change a cycle is an hour shorter or longer, and starts at local midnight', () => {
    // New York: clocks go forward on the second Sunday of March and back on the first Sunday of November.
    const spring = anchoredWindow(Date.UTC(2026, 2, 1), Date.UTC(2026, 0, 15), 1, 'month', 'America/New_York')
    expect([iso(spring.start), iso(spring.end)]).toEqual(['2026-02-15T05:00:00.000Z', '2026-03-15T04:00:00.000Z'])
    expect((spring.end - spring.start) / 3_600_000).toBe(28 * 24 - 1)
    const autumn = anchoredWindow(Date.UTC(2026, 9, 20), Date.UTC(2026, 0, 15), 1, 'month', 'America/New_York')
    expect((autumn.end - autumn.start) / 3_600_000).toBe(31 * 24 + 1)
  })

  it('cycles contain now, tile time, and start on the anchor day (clamped), in any zone', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(undefined, 'America/New_York', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata', 'Pacific/Chatham'),
        fc.constantFrom<'month' | 'year'>('month', 'year'),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2060, 0, 1) }).map((time) => Math.floor(time / 86_400_000) * 86_400_000),
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2060, 0, 1) }),
        (timeZone, unit, interval, anchorDay, now) => {
          const cycle = anchoredWindow(now, anchorDay, interval, unit, timeZone)
          expect(cycle.start).toBeLessThanOrEqual(now)
          expect(cycle.end).toBeGreaterThan(now)
          expect(anchoredWindow(cycle.end, anchorDay, interval, unit, timeZone).start).toBe(cycle.end)
          expect(anchoredWindow(cycle.start - 1, anchorDay, interval, unit, timeZone).end).toBe(cycle.start)
          if (timeZone === undefined) {
            const anchorDate = new Date(anchorDay).getUTCDate()
            const start = new Date(cycle.start)
            const monthLength = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 0)).getUTCDate()
            expect(start.getUTCDate()).toBe(Math.min(anchorDate, monthLength))
          }
        },
      ),
    )
  })
})

describe('anchorDayOf', () => {
  const day = (value: unknown, timeZone?: string) => anchorDayOf('plan', 'subscribedAt', { subscribedAt: value as string }, timeZone)

  it('reads a Date, epoch ms and an ISO date and time as the instant, on its local day', () => {
    const instant = Date.UTC(2026, 0, 31, 3, 0)
    expect(day(new Date(instant))).toBe(Date.UTC(2026, 0, 31))
    expect(day(instant)).toBe(Date.UTC(2026, 0, 31))
    expect(day('2026-01-31T03:00:00Z')).toBe(Date.UTC(2026, 0, 31))
    // 03:00 UTC on the 31st is still the 30th in New York: that is the customer's anchor day.
    expect(day(instant, 'America/New_York')).toBe(Date.UTC(2026, 0, 30))
  })

  it('reads a date YYYY-MM-DD as that calendar date in any zone', () => {
    expect(day('2026-01-31', 'America/New_York')).toBe(Date.UTC(2026, 0, 31))
    expect(day('2026-01-31', 'Asia/Tokyo')).toBe(Date.UTC(2026, 0, 31))
  })

  it('has no anchor for undefined, null and the empty string', () => {
    for (const value of [undefined, null, '']) expect(day(value)).toBeUndefined()
  })

  it.each([['2026-02-30'], ['tomorrow'], ['March 3'], [Number.NaN], [-1], [new Date('nope')], [{}], [true], [Date.UTC(10_000, 0, 1)]])(
    'refuses %s with InvalidAnchor',
    (value) => {
      const error = (() => {
        try {
          day(value)
        } catch (caught) {
          return caught
        }
      })()
      expect(QuotaInputError.isInstance(error) && error.code).toBe('InvalidAnchor')
    },
  )

  it('names the policy when the anchor function throws', () => {
    const failing = () => anchorDayOf('plan', () => JSON.parse('{'), {}, undefined)
    expect(failing).toThrow(QuotaInputError)
    expect(failing).toThrow(/policy "plan".*anchor function threw/)
  })
})

describe('anchor configuration', () => {
  const base: QuotaPolicy = { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', anchor: 'subscribedAt' }
  const normalize = (policy: Record<string, unknown>) => normalizePolicy({ ...base, ...policy } as QuotaPolicy, { unidentified: 'refuse' })

  it('accepts a context key or a function on month and year windows of type default', () => {
    expect(normalize({}).anchor).toBe('subscribedAt')
    expect(typeof normalize({ anchor: () => 0, timeUnit: 'year', timeZone: 'Europe/Paris' }).anchor).toBe('function')
  })

  it.each([
    [{ type: 'calendar', startTime: '2026-01-01 00:00:00' }, /calendar/],
    [{ type: 'flexi' }, /flexi/],
    [{ timeUnit: 'day' }, /timeUnit: day/],
    [{ anchor: 5 }, /context key/],
    [{ anchor: '' }, /context key/],
  ])('refuses %o', (fields, message) => {
    expect(() => normalize(fields)).toThrow(QuotaConfigError)
    expect(() => normalize(fields)).toThrow(message)
  })
})
