import { describe, expect, it } from 'vitest'
import { CliError } from './cli-error.js'
import { expiresOf, untilOf } from './until.js'

const now = Date.UTC(2031, 5, 1)

describe('--until and --expires name a real calendar day', () => {
  it.each(['2099-02-30', '2099-02-29', '2099-04-31', '2099-13-01', '2099-00-10', '2099-01-00', '2099-02-30T12:00:00Z'])(
    'refuses %s, which Date.parse would roll into another day',
    (text) => {
      expect(() => expiresOf(text)).toThrow(CliError)
      expect(() => expiresOf(text)).toThrow(`got "${text}"`)
      expect(() => untilOf(text, now)).toThrow(CliError)
    },
  )

  it.each([
    ['2096-02-29', Date.UTC(2096, 1, 29)],
    ['2099-12-31', Date.UTC(2099, 11, 31)],
    ['2099-03-01T10:30:00Z', Date.UTC(2099, 2, 1, 10, 30)],
  ])('takes %s', (text, time) => {
    expect(expiresOf(text)).toBe(time)
    expect(untilOf(text, now)).toBe(time)
  })
})

describe('--until and --expires read a date-time without a zone as UTC, on any machine', () => {
  // Date.parse reads `2099-03-01T10:30` in the machine's zone: the same `credits add --key … --expires`
  // re-run on a machine in another zone named another instant, refused as a key reused.
  it.each(['America/New_York', 'Asia/Tokyo', 'UTC'])('in TZ=%s', (zone) => {
    const before = process.env.TZ
    process.env.TZ = zone
    try {
      for (const text of ['2099-03-01T10:30', '2099-03-01T10:30:00', '2099-03-01 10:30:00.000']) {
        expect(expiresOf(text), text).toBe(Date.UTC(2099, 2, 1, 10, 30))
        expect(untilOf(text, now), text).toBe(Date.UTC(2099, 2, 1, 10, 30))
      }
      expect(expiresOf('2099-03-01T10:30:00+02:00')).toBe(Date.UTC(2099, 2, 1, 8, 30))
    } finally {
      if (before === undefined) delete process.env.TZ
      else process.env.TZ = before
    }
  })
})
