import { describe, expect, it } from 'vitest'
import { QuotaConfigError, type QuotaConfigErrorCode } from '../shared/errors.js'
import type { QuotaPolicy } from './policy-types.js'
import { createTokenQuota } from '../engine/token-quota.js'

const base: QuotaPolicy = { name: 'p', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' }

function configError(policies: unknown, extra: Record<string, unknown> = {}): QuotaConfigError {
  try {
    createTokenQuota({ policies: policies as QuotaPolicy[], ...extra })
  } catch (error) {
    if (QuotaConfigError.isInstance(error)) return error
    throw error
  }
  throw new Error('expected a QuotaConfigError')
}

describe('policy validation at construction', () => {
  it.each<[string, Record<string, unknown>, QuotaConfigErrorCode, string]>([
    ['a fractional interval', { interval: 0.1 }, 'InvalidQuotaInterval', 'interval'],
    ['a zero interval', { interval: 0 }, 'InvalidQuotaInterval', 'interval'],
    ['an unknown time unit', { timeUnit: 'fortnight' }, 'InvalidQuotaTimeUnit', 'timeUnit'],
    ['an unknown type', { type: 'sliding' }, 'InvalidQuotaType', 'type'],
    ['a calendar without startTime', { type: 'calendar' }, 'InvalidStartTime', 'startTime'],
    ['a malformed startTime', { type: 'calendar', startTime: '7-16-2017 12:00:00' }, 'InvalidStartTime', 'startTime'],
    ['a startTime on a non-calendar policy', { type: 'flexi', startTime: '2025-07-16 12:00:00' }, 'StartTimeNotSupported', 'startTime'],
    ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }, 'InvalidConfiguration', 'timeZone'],
    ['a time zone on a rolling window', { type: 'rollingwindow', timeZone: 'Europe/Paris' }, 'InvalidConfiguration', 'timeZone'],
    ['a negative allow', { allow: -1 }, 'InvalidConfiguration', 'allow'],
    ['a NaN allow', { allow: Number.NaN }, 'InvalidConfiguration', 'allow'],
    ['a class table with a bad count', { allow: { class: 'plan', counts: { free: 1.5 } } }, 'InvalidConfiguration', 'allow.counts.free'],
    ['an unknown mode', { mode: 'shadow' }, 'InvalidConfiguration', 'mode'],
    ['a threshold at the hard limit', { thresholds: [{ at: 1, action: 'warn' }] }, 'InvalidConfiguration', 'thresholds[0].at'],
    ['a threshold with an unknown action', { thresholds: [{ at: 0.8, action: 'email' }] }, 'InvalidConfiguration', 'thresholds[0].action'],
    ['empty models', { models: [] }, 'InvalidConfiguration', 'models'],
    ['an unknown count', { count: 'words' }, 'InvalidConfiguration', 'count'],
    ['a negative weight', { count: { input: -1 } }, 'InvalidConfiguration', 'count.input'],
    ['a misspelt field', { timeunit: 'day' }, 'InvalidConfiguration', 'timeunit'],
    ['an empty identifier key', { identifier: '' }, 'InvalidConfiguration', 'identifier'],
    ['a bad unidentified', { unidentified: 'allow' }, 'InvalidConfiguration', 'unidentified'],
    ['a bad request cap', { maxTokensPerRequest: 0 }, 'InvalidConfiguration', 'maxTokensPerRequest.limit'],
    ['a name with spaces', { name: 'user daily' }, 'InvalidConfiguration', 'name'],
  ])('rejects %s', (_, override, code, field) => {
    const error = configError([{ ...base, ...override }])
    expect(error.code).toBe(code)
    expect(error.field).toBe(field)
    expect(error.message).toContain(`\`${field}\``)
    if (field !== 'name') expect(error.policy).toBe('p')
  })

  it('names what was expected and what came', () => {
    expect(configError([{ ...base, interval: 0.5 }]).message).toBe(
      'policy "p", field `interval`: Expected `interval` to be a positive integer up to 1000000, got `0.5` (number)',
    )
  })

  // JSON.stringify shows NaN and ±Infinity as `null`: a message must show the value that came.
  it.each<[string, Record<string, unknown>, string]>([
    ['a NaN allow', { allow: Number.NaN }, 'got `NaN` (number)'],
    ['an infinite allow', { allow: Number.POSITIVE_INFINITY }, 'got `Infinity` (number)'],
    ['a NaN class count', { allow: { class: 'plan', counts: { free: Number.NaN } } }, 'got `NaN` (number)'],
    ['a NaN threshold', { thresholds: [{ at: Number.NaN, action: 'warn' }] }, 'got `NaN` (number)'],
    ['an infinite weight', { count: { input: Number.NEGATIVE_INFINITY } }, 'got `-Infinity` (number)'],
    ['a NaN inside an object', { maxTokensPerRequest: { limit: Number.NaN, action: 'refuse' } }, 'got `NaN` (number)'],
    ['NaN inside an object shown whole', { unidentified: { bucket: Number.NaN } }, 'got `{"bucket":NaN}` (object)'],
  ])('shows %s as it is, not as null', (_, override, shown) => {
    const message = configError([{ ...base, ...override }]).message
    expect(message).toContain(shown)
    expect(message).not.toContain('null')
  })

  it('rejects duplicate names, incoherent shared counters, and an enforce-only policy that nothing counts for', () => {
    expect(configError([base, base])).toMatchObject({ code: 'InvalidConfiguration', field: 'name' })
    expect(
      configError([
        { ...base, sharedName: 's' },
        { ...base, name: 'q', sharedName: 's', timeUnit: 'hour' },
      ]),
    ).toMatchObject({ field: 'timeUnit', policy: 'q' })
    expect(
      configError([
        { ...base, sharedName: 's' },
        { ...base, name: 'q', sharedName: 's', count: 'output' },
      ]),
    ).toMatchObject({ field: 'count' })
    expect(configError([{ ...base, mode: 'enforce-only' }])).toMatchObject({ code: 'InvalidConfiguration', field: 'mode' })
    expect(
      configError([
        { ...base, mode: 'enforce-only', sharedName: 's' },
        { ...base, name: 'q', mode: 'enforce-only', sharedName: 's' },
      ]),
    ).toMatchObject({ field: 'mode' })
  })

  it('rejects bad engine options', () => {
    expect(configError([])).toMatchObject({ field: 'policies' })
    expect(configError([base], { leaseTtlMs: 0 })).toMatchObject({ field: 'leaseTtlMs' })
    expect(configError([base], { failureMode: 'maybe' })).toMatchObject({ field: 'failureMode' })
    expect(configError([base], { unidentified: { bucket: '' } })).toMatchObject({ field: 'unidentified' })
  })

  it('accepts a full Apigee-style policy', () => {
    const quota = createTokenQuota({
      policies: [
        {
          ...base,
          type: 'calendar',
          startTime: '2025-02-18 10:30:00',
          interval: 5,
          timeUnit: 'hour',
          thresholds: [
            { at: 0.95, action: 'throttle' },
            { at: 0.8, action: 'warn' },
          ],
        },
      ],
    })
    expect(quota.policies[0]!.thresholds.map((threshold) => threshold.at)).toEqual([0.8, 0.95])
    expect(Object.isFrozen(quota.policies[0])).toBe(true)
  })
})
