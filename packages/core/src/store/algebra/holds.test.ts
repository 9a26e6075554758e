import { describe, expect, it } from 'vitest'
import { expiredForgotten, expiredRetentionMs, expiryChange, isExpired, settleChange, settlesInPlace } from './holds.js'

describe('holds and their expiry', () => {
  it('expires a hold at its expiry, not before', () => {
    expect(isExpired(1000, 999)).toBe(false)
    expect(isExpired(1000, 1000)).toBe(true)
  })

  it('charges an expired hold as usage, or returns it for a lease that releases at expiry', () => {
    expect(expiryChange(40, true)).toEqual({ used: 40, reserved: -40 })
    expect(expiryChange(40, false)).toEqual({ used: 0, reserved: -40 })
  })

  it('settles a live hold by returning it and charging the real amount, where it was held', () => {
    expect(settleChange('holding', 40, 25)).toEqual({ used: 25, reserved: -40 })
    expect(settlesInPlace('holding')).toBe(true)
  })

  it('replaces an expiry charge by the late real charge, in place: the difference, which may be negative', () => {
    expect(settleChange('charged', 40, 25)).toEqual({ used: -15, reserved: 0 })
    expect(settleChange('charged', 40, 55)).toEqual({ used: 15, reserved: 0 })
    expect(settlesInPlace('charged')).toBe(true)
  })

  it('charges the late settle of a returned hold in full, where the window is now', () => {
    expect(settleChange('released', 40, 25)).toEqual({ used: 25, reserved: 0 })
    expect(settlesInPlace('released')).toBe(false)
    expect(settlesInPlace(undefined)).toBe(false)
  })

  it('remembers an expired lease for an hour after its expiry', () => {
    expect(expiredForgotten(1000, 1000 + expiredRetentionMs - 1)).toBe(false)
    expect(expiredForgotten(1000, 1000 + expiredRetentionMs)).toBe(true)
  })
})
