import { describe, expect, it } from 'vitest'
import { counterOverrides, effectiveLimit, fits, grantsInForce, inForce, overridesFor, overridesInForce, targetInForce } from './limits.js'

const now = 1_000_000

describe('the limit in force', () => {
  it('fits up to the limit exactly; a counter without a limit always fits', () => {
    expect(fits(60, 30, 10, 100)).toBe(true)
    expect(fits(60, 30, 11, 100)).toBe(false)
    expect(fits(1e12, 0, 1, undefined)).toBe(true)
  })

  it('keeps overrides until their end, exclusive', () => {
    expect(inForce({ amount: 5, until: now + 1 }, now)).toEqual({ amount: 5, until: now + 1 })
    expect(inForce({ amount: 5, until: now }, now)).toBeUndefined()
    expect(inForce({ amount: 5 }, now)).toEqual({ amount: 5 })
    expect(grantsInForce([{ amount: 1, until: now }, { amount: 2 }, { amount: 3, until: now + 5 }], now)).toEqual([
      { amount: 2 },
      { amount: 3, until: now + 5 },
    ])
  })

  it("takes the identifier's allow, else its family's, else the policy's, plus every grant in force", () => {
    expect(effectiveLimit(100, {}, now)).toBe(100)
    expect(effectiveLimit(100, { familyAllow: { amount: 300 }, grants: [{ amount: 10 }] }, now)).toBe(310)
    expect(effectiveLimit(100, { allow: { amount: 500 }, familyAllow: { amount: 300 }, familyGrants: [{ amount: 7 }] }, now)).toBe(507)
    expect(effectiveLimit(100, { allow: { amount: 500, until: now }, grants: [{ amount: 10, until: now - 1 }] }, now)).toBe(100)
    expect(effectiveLimit(undefined, { allow: { amount: 500 } }, now)).toBeUndefined()
  })

  it("counts a shared counter's overrides once: it is its own family", () => {
    const target = { allow: { amount: 50 }, grants: [{ amount: 5 }] }
    expect(counterOverrides('', target, target)).toEqual({ allow: { amount: 50 }, grants: [{ amount: 5 }] })
    const lookup = (identifier: string) => (identifier === '' ? target : undefined)
    expect(effectiveLimit(100, overridesFor('', lookup)!, now)).toBe(55)
    expect(effectiveLimit(100, overridesFor('=alice', lookup)!, now)).toBe(55)
    expect(overridesFor('=alice', () => undefined)).toBeUndefined()
  })

  it('keeps of a target only what is in force, and nothing when nothing is', () => {
    expect(targetInForce({ allow: { amount: 1, until: now }, grants: [{ amount: 2 }] }, now)).toEqual({ grants: [{ amount: 2 }] })
    expect(targetInForce({ allow: { amount: 1, until: now }, grants: [{ amount: 2, until: now }] }, now)).toBeUndefined()
    expect(targetInForce(undefined, now)).toBeUndefined()
    expect(overridesInForce({ allow: { amount: 1, until: now }, familyGrants: [{ amount: 2 }] }, now)).toEqual({
      allow: undefined,
      grants: [],
      familyAllow: undefined,
      familyGrants: [{ amount: 2 }],
    })
  })
})
