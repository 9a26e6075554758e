import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { TimeUnit } from '../shared/types.js'
import { addMonths, addUnits, alignedWindow, calendarWindow, parseStartTime, rollingLengthMs } from './windows.js'

const utc = (text: string) => Date.parse(`${text}Z`)
const iso = (time: number) => new Date(time).toISOString()
const units: TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year']

describe('alignedWindow (type default)', () => {
  it.each([
    ['minute', 1, '2026-03-14T15:09:26.535', '2026-03-14T15:09:00.000Z', '2026-03-14T15:10:00.000Z'],
    ['hour', 1, '2026-03-14T15:09:26', '2026-03-14T15:00:00.000Z', '2026-03-14T16:00:00.000Z'],
    ['hour', 12, '2026-03-14T15:09:26', '2026-03-14T12:00:00.000Z', '2026-03-15T00:00:00.000Z'],
    ['day', 1, '2026-03-14T23:59:59.999', '2026-03-14T00:00:00.000Z', '2026-03-15T00:00:00.000Z'],
    // 2026-03-14 is a Saturday: the week started on Sunday the 8th.
    ['week', 1, '2026-03-14T10:00:00', '2026-03-08T00:00:00.000Z', '2026-03-15T00:00:00.000Z'],
    ['week', 1, '2026-03-15T00:00:00', '2026-03-15T00:00:00.000Z', '2026-03-22T00:00:00.000Z'],
    ['month', 1, '2024-02-29T23:59:59', '2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    ['month', 1, '2026-12-31T23:59:59.999', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
    ['month', 3, '2026-05-20T00:00:00', '2026-04-01T00:00:00.000Z', '2026-07-01T00:00:00.000Z'],
    ['year', 1, '2024-12-31T23:59:59', '2024-01-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z'],
  ] as const)('%s × %i at %s is [%s, %s)', (unit, interval, now, start, end) => {
    const window = alignedWindow(utc(now), interval, unit)
    expect([iso(window.start), iso(window.end)]).toEqual([start, end])
  })

  it('has leap-year-exact day counts', () => {
    const february = (year: number) => alignedWindow(Date.UTC(year, 1, 10), 1, 'month')
    expect((february(2024).end - february(2024).start) / 86_400_000).toBe(29)
    expect((february(2026).end - february(2026).start) / 86_400_000).toBe(28)
    expect((february(2000).end - february(2000).start) / 86_400_000).toBe(29)
    expect((february(2100).end - february(2100).start) / 86_400_000).toBe(28)
  })
})

describe('alignedWindow in a time zone', () => {
  const hours = (window: { start: number; end: number }) => (window.end - window.start) / 3_600_000

  it.each([
    // New York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
    ['America/New_York', 'day', '2026-03-08T12:00:00', '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z', 23],
    ['America/New_York', 'day', '2026-11-01T12:00:00', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', 25],
    ['America/New_York', 'day', '2026-11-02T04:59:59', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z', 25],
    ['America/New_York', 'month', '2026-11-15T00:00:00', '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z', 30 * 24 + 1],
    ['America/New_York', 'week', '2026-03-10T00:00:00', '2026-03-08T05:00:00.000Z', '2026-03-15T04:00:00.000Z', 7 * 24 - 1],
    // London: 2026-03-29 01:00 GMT → 02:00 BST; 2026-10-25 02:00 BST → 01:00 GMT.
    ['Europe/London', 'day', '2026-03-29T10:00:00', '2026-03-29T00:00:00.000Z', '2026-03-29T23:00:00.000Z', 23],
    ['Europe/London', 'day', '2026-10-25T10:00:00', '2026-10-24T23:00:00.000Z', '2026-10-26T00:00:00.000Z', 25],
    // Half-hour zones move hour windows too; UTC is the default's own grid.
    ['Asia/Kolkata', 'hour', '2026-06-01T10:40:00', '2026-06-01T10:30:00.000Z', '2026-06-01T11:30:00.000Z', 1],
    ['UTC', 'day', '2026-03-08T12:00:00', '2026-03-08T00:00:00.000Z', '2026-03-09T00:00:00.000Z', 24],
  ] as const)('%s: the %s around %s is [%s, %s), %i hours', (timeZone, unit, now, start, end, length) => {
    const window = alignedWindow(utc(now), 1, unit, timeZone)
    expect([iso(window.start), iso(window.end)]).toEqual([start, end])
    expect(hours(window)).toBe(length)
  })

  it('tiles time: every instant is in exactly one window, each ending where the next starts', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'America/Santiago', 'Asia/Kolkata'),
        fc.constantFrom<TimeUnit>('hour', 'day', 'week', 'month'),
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (timeZone, unit, now) => {
          const window = alignedWindow(now, 1, unit, timeZone)
          expect(window.start).toBeLessThanOrEqual(now)
          expect(window.end).toBeGreaterThan(now)
          expect(alignedWindow(window.end, 1, unit, timeZone).start).toBe(window.end)
          expect(alignedWindow(window.start - 1, 1, unit, timeZone).end).toBe(window.start)
        },
      ),
    )
  })
})

describe('calendarWindow', () => {
  it('repeats every interval from startTime (Apigee: 10:30 every 5 hours → next reset 15:30)', () => {
    const start = parseStartTime('2025-02-18 10:30:00')!
    const window = calendarWindow(utc('2025-02-18T12:00:00'), start, 5, 'hour')
    expect([iso(window.start), iso(window.end)]).toEqual(['2025-02-18T10:30:00.000Z', '2025-02-18T15:30:00.000Z'])
  })

  it('steps months on the calendar, clamping the day to the month end', () => {
    const start = parseStartTime('2026-01-31 08:00:00')!
    const at = (now: string) => {
      const window = calendarWindow(utc(now), start, 1, 'month')
      return [iso(window.start), iso(window.end)]
    }
    expect(at('2026-02-15T00:00:00')).toEqual(['2026-01-31T08:00:00.000Z', '2026-02-28T08:00:00.000Z'])
    expect(at('2026-02-28T08:00:00')).toEqual(['2026-02-28T08:00:00.000Z', '2026-03-31T08:00:00.000Z'])
    expect(at('2028-02-29T09:00:00')).toEqual(['2028-02-29T08:00:00.000Z', '2028-03-31T08:00:00.000Z'])
  })

  it('extends the grid backwards before startTime', () => {
    const start = parseStartTime('2026-06-01 00:00:00')!
    const window = calendarWindow(utc('2026-05-31T23:00:00'), start, 1, 'day')
    expect(iso(window.start)).toBe('2026-05-31T00:00:00.000Z')
  })
})

describe('parseStartTime', () => {
  it.each([
    ['2025-02-18 10:30:00', '2025-02-18T10:30:00.000Z'],
    ['2025-7-16 12:00:00', '2025-07-16T12:00:00.000Z'],
    ['2025-02-04 24:00:00', '2025-02-05T00:00:00.000Z'],
    ['2024-02-29T00:00:00', '2024-02-29T00:00:00.000Z'],
  ])('parses %s', (text, expected) => {
    expect(iso(parseStartTime(text)!)).toBe(expected)
  })

  it.each([
    '7-16-2017 12:00:00',
    '2025-02-30 00:00:00',
    '2026-02-29 00:00:00',
    '2025-13-01 00:00:00',
    '2025-01-01 24:00:01',
    '2025-01-01',
    'tomorrow',
    '1969-12-31 00:00:00',
  ])('rejects %s', (text) => {
    expect(parseStartTime(text)).toBeUndefined()
  })
})

describe('addMonths / addUnits', () => {
  it('clamps to the end of shorter months and keeps the time of day', () => {
    expect(iso(addMonths(utc('2026-01-31T10:00:00'), 1))).toBe('2026-02-28T10:00:00.000Z')
    expect(iso(addMonths(utc('2024-01-31T10:00:00'), 1))).toBe('2024-02-29T10:00:00.000Z')
    expect(iso(addMonths(utc('2024-02-29T00:00:00'), 12))).toBe('2025-02-28T00:00:00.000Z')
    expect(iso(addUnits(utc('2026-03-01T00:00:00'), -1, 'month'))).toBe('2026-02-01T00:00:00.000Z')
  })

  it('gives rolling windows fixed lengths (month = 30 days, year = 365 days)', () => {
    expect(rollingLengthMs(1, 'month')).toBe(30 * 86_400_000)
    expect(rollingLengthMs(2, 'year')).toBe(730 * 86_400_000)
    expect(rollingLengthMs(30, 'minute')).toBe(1_800_000)
  })
})

describe('window properties', () => {
  const time = fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2200, 0, 1) })
  const unit = fc.constantFrom(...units)
  const interval = fc.integer({ min: 1, max: 40 })

  it('default windows contain now, tile time without gaps, and start on unit boundaries', () => {
    fc.assert(
      fc.property(time, unit, interval, (now, timeUnit, length) => {
        const window = alignedWindow(now, length, timeUnit)
        expect(window.start).toBeLessThanOrEqual(now)
        expect(window.end).toBeGreaterThan(now)
        expect(alignedWindow(window.end, length, timeUnit).start).toBe(window.end)
        expect(alignedWindow(window.end - 1, length, timeUnit).start).toBe(window.start)
        const start = new Date(window.start)
        if (timeUnit !== 'minute') expect(start.getUTCMinutes()).toBe(0)
        if (['day', 'week', 'month', 'year'].includes(timeUnit)) expect(start.getUTCHours()).toBe(0)
        if (timeUnit === 'week') expect(start.getUTCDay()).toBe(0)
        if (timeUnit === 'month' || timeUnit === 'year') expect(start.getUTCDate()).toBe(1)
        if (timeUnit === 'year') expect(start.getUTCMonth()).toBe(0)
      }),
    )
  })

  it('calendar windows contain now, tile time, and one of them starts exactly at startTime', () => {
    fc.assert(
      fc.property(time, time, unit, interval, (now, startTime, timeUnit, length) => {
        const window = calendarWindow(now, startTime, length, timeUnit)
        expect(window.start).toBeLessThanOrEqual(now)
        expect(window.end).toBeGreaterThan(now)
        expect(calendarWindow(window.end, startTime, length, timeUnit).start).toBe(window.end)
        expect(calendarWindow(startTime, startTime, length, timeUnit).start).toBe(startTime)
      }),
    )
  })
})
