import { describe, expect, it } from 'vitest'
import { QuotaConfigError } from '../shared/errors.js'
import { normalizePolicies } from './policy-set.js'
import type { QuotaPolicy } from './policy-types.js'

const credits: QuotaPolicy = { name: 'credits', type: 'balance', identifier: 'user' }
const plan: QuotaPolicy = { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' }

function normalized(policies: readonly unknown[]) {
  return normalizePolicies(policies as QuotaPolicy[], { unidentified: 'refuse' })
}

function configError(policies: readonly unknown[]): QuotaConfigError {
  try {
    normalized(policies)
  } catch (error) {
    if (QuotaConfigError.isInstance(error)) return error
    throw error
  }
  throw new Error('expected a QuotaConfigError')
}

describe('balance policies', () => {
  it("names 'balance' among the types when a type is misspelled", () => {
    const error = configError([{ ...credits, type: 'Balance' }])
    expect(error).toMatchObject({ code: 'InvalidQuotaType', field: 'type' })
    expect(error.message).toContain('one of default, calendar, flexi, rollingwindow, balance')
  })

  it('need no window: a balance counter in the policy unit, dollars scaled like money policies', () => {
    const [tokens, dollars] = normalized([
      { ...credits, lowAt: 1000 },
      { name: 'wallet', type: 'balance', identifier: 'user', count: 'usd', lowAt: 2.5 },
    ])
    expect(tokens).toMatchObject({ type: 'balance', interval: undefined, timeUnit: undefined, unit: 'tokens', scale: 1, lowAt: 1000, mode: 'enforce' })
    expect(tokens!.window(Date.UTC(2026, 0, 1))).toEqual({ kind: 'balance' })
    expect(dollars).toMatchObject({ unit: 'usd', counterName: 'wallet#usd-e8', lowAt: 250_000_000 })
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['a window', { interval: 1, timeUnit: 'day' }, 'interval'],
    ['an allow (its capacity is its grants)', { allow: 100 }, 'allow'],
    ['thresholds (lowAt instead)', { thresholds: [{ at: 0.5, action: 'warn' }] }, 'thresholds'],
    ['a mode', { mode: 'count-only' }, 'mode'],
    ['a shared counter', { sharedName: 'x' }, 'sharedName'],
    ['a negative lowAt', { lowAt: -1 }, 'lowAt'],
  ])('refuse %s with a typed error naming the field', (_, fields, field) => {
    expect(configError([{ ...credits, ...fields }])).toMatchObject({ code: 'InvalidConfiguration', policy: 'credits', field })
  })
})

describe('spillTo', () => {
  it('names a balance policy with the same identifier and count', () => {
    const [allowance] = normalized([plan, credits])
    expect(allowance!.spillTo).toBe('credits')
  })

  it.each<[string, readonly unknown[], RegExp]>([
    ['an unknown policy', [{ ...plan, spillTo: 'nowhere' }, credits], /type: 'balance'/],
    [
      'a windowed policy',
      [
        { ...plan, spillTo: 'daily' },
        { name: 'daily', identifier: 'user', allow: 1, interval: 1, timeUnit: 'day' },
      ],
      /type: 'balance'/,
    ],
    ['another count', [plan, { ...credits, count: 'output' }], /count the same way/],
    ['another identifier', [plan, { ...credits, identifier: 'org' }], /same one/],
    ['a count-only policy', [{ ...plan, mode: 'count-only' }, credits], /enforce/],
    ['a shared counter', [{ ...plan, sharedName: 'shared' }, credits], /share its counter/],
    ['a second policy spilling into the same balance', [plan, { ...plan, name: 'plan-2' }, credits], /already/],
  ])('refuses %s', (_, policies, message) => {
    const error = configError(policies)
    expect(error).toMatchObject({ code: 'InvalidConfiguration', field: 'spillTo' })
    expect(error.message).toMatch(message)
  })
})
