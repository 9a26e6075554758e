import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import {
  InsufficientCreditsError,
  LeaseSettledError,
  QuotaConfigError,
  QuotaInputError,
  StoreUnavailableError,
  TokenQuotaError,
  TokenQuotaExceededError,
} from './errors.js'

const violation = { policy: 'user-daily', identifier: 'alice', limit: 1000, used: 900, reserved: 50, requested: 100, resetAt: 60_500, retryAfterMs: 60_500 }

describe('errors', () => {
  it('recognises errors thrown by another copy of the package (the CommonJS build)', () => {
    const require = createRequire(import.meta.url)
    const otherCopy = require('../../dist/index.cjs') as typeof import('../index.js')
    expect(otherCopy.TokenQuotaExceededError).not.toBe(TokenQuotaExceededError)
    const foreign = new otherCopy.TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations: [violation] })
    expect(foreign instanceof TokenQuotaExceededError).toBe(false)
    expect(TokenQuotaExceededError.isInstance(foreign)).toBe(true)
    expect(TokenQuotaError.isInstance(foreign)).toBe(true)
    expect(QuotaConfigError.isInstance(foreign)).toBe(false)
    expect(StoreUnavailableError.isInstance(new otherCopy.StoreUnavailableError({ message: 'down' }))).toBe(true)
  })

  it('tells the error classes apart', () => {
    const errors = [
      new TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations: [violation] }),
      new QuotaConfigError({ code: 'InvalidQuotaInterval', message: 'bad' }),
      new QuotaInputError({ code: 'InvalidUsage', message: 'bad' }),
      new StoreUnavailableError({ message: 'down' }),
      new LeaseSettledError({ leaseId: 'l', settledAs: 'committed', attempted: 'commit' }),
    ]
    const checks = [TokenQuotaExceededError, QuotaConfigError, QuotaInputError, StoreUnavailableError, LeaseSettledError]
    expect(errors.map((error) => checks.map((check) => check.isInstance(error)))).toEqual(checks.map((_, row) => checks.map((__, column) => row === column)))
    expect(TokenQuotaError.isInstance(new Error('plain'))).toBe(false)
    expect(TokenQuotaError.isInstance(null)).toBe(false)
  })

  it('describes a refusal and turns it into HTTP headers, rounding the retry up', () => {
    const error = new TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations: [violation] })
    expect(error.message).toBe(
      'Token quota "user-daily" exceeded for identifier "alice": needs ~100 tokens, 50 left of 1000 (900 used, 50 reserved); retry in 61s',
    )
    expect(error.status).toBe(429)
    expect(error.remaining).toBe(50)
    expect(error.toHeaders(0)).toEqual({
      'retry-after': '61',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '50',
      'x-ratelimit-reset-tokens': '61s',
    })
  })

  it('says, for people, what the refused request needed and what was left, in every unit', () => {
    // The demo's case: 573 of 700 used, 127 left, and a reservation (prompt estimate + output cap) of 273.
    const demo = { ...violation, limit: 700, used: 573, reserved: 0, requested: 273, resetAt: 7_200_000, retryAfterMs: 7_200_000 }
    const refusal = new TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations: [demo] })
    expect(refusal.explain()).toBe('user-daily: needs ~273 tokens, 127 left of 700 (retry in 2 h)')
    expect(refusal.message).toContain('needs ~273 tokens, 127 left of 700 (573 used, 0 reserved)')
    const dollars = { ...demo, policy: 'user-daily-usd', unit: 'usd' as const, limit: 0.5, used: 0.4, reserved: 0.05, requested: 0.0712 }
    expect(new TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations: [dollars] }).explain()).toBe(
      'user-daily-usd: needs ~$0.0712, $0.05 left of $0.5 (retry in 2 h)',
    )
    const requests = { ...demo, policy: 'user-rpm', unit: 'requests' as const, limit: 10, used: 10, requested: 1, retryAfterMs: 30_000 }
    expect(new TokenQuotaExceededError({ code: 'TokenQuotaExceeded', violations: [requests] }).explain()).toBe(
      'user-rpm: needs 1 request, 0 left of 10 (retry in 30 s)',
    )
    const tooLarge = new TokenQuotaExceededError({ code: 'RequestTooLarge', violations: [{ ...demo, requested: 900, retryAfterMs: null }] })
    expect(tooLarge.explain()).toBe('user-daily: needs ~900 tokens, more than the whole limit of 700 (waiting will not help)')
    expect(tooLarge.message).toBe('Token quota "user-daily" for identifier "alice": needs ~900 tokens, more than the whole limit of 700')
  })

  it('says dollars as decimal text, never in exponent notation (2e-8)', () => {
    const cents = { ...violation, unit: 'usd' as const, limit: 0.00000002, used: 0, reserved: 0, requested: 0.00000003, retryAfterMs: null }
    expect(new TokenQuotaExceededError({ code: 'RequestTooLarge', violations: [cents] }).explain()).toBe(
      'user-daily: needs ~$0.00000003, more than the whole limit of $0.00000002 (waiting will not help)',
    )
  })

  it("says a correction the balance cannot cover in the balance's unit, with the amounts as fields", () => {
    const dollars = new InsufficientCreditsError({ requested: 1.5, balance: 0.00002, unit: 'usd', policy: 'wallet' })
    expect(dollars.message).toBe('policy "wallet": a correction of -$1.5 needs a balance of at least $1.5, the balance is $0.00002: nothing changed')
    expect(dollars).toMatchObject({ code: 'InsufficientCredits', status: 400, policy: 'wallet', requested: 1.5, balance: 0.00002, unit: 'usd' })
    expect([QuotaInputError.isInstance(dollars), InsufficientCreditsError.isInstance(dollars)]).toEqual([true, true])
    expect(InsufficientCreditsError.isInstance(new QuotaInputError({ code: 'InvalidUsage', message: 'bad' }))).toBe(false)
    expect(new InsufficientCreditsError({ requested: 86, balance: 85, unit: 'tokens' }).message).toBe(
      'a correction of -86 tokens needs a balance of at least 86 tokens, the balance is 85 tokens: nothing changed',
    )
    // A store called directly speaks counter units, and says so.
    expect(new InsufficientCreditsError({ requested: 3, balance: 2, unit: 'counter' }).message).toContain('-3 counter units needs')
    expect(new InsufficientCreditsError({ requested: 1, balance: 0, unit: 'tokens' }).message).toBe(
      'a correction of -1 token needs a balance of at least 1 token, the balance is 0 tokens: nothing changed',
    )
    expect(new InsufficientCreditsError({ requested: 1, balance: 0, unit: 'counter' }).message).toContain('-1 counter unit needs')
  })

  it('keeps the cause', () => {
    const cause = new Error('ECONNREFUSED')
    expect(new StoreUnavailableError({ message: 'down', cause }).cause).toBe(cause)
  })
})
