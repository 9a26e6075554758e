import { createRequire } from 'node:module'
import { describe, expect, it } from 'vitest'
import { LeaseSettledError, QuotaConfigError, QuotaInputError, StoreUnavailableError, TokenQuotaError, TokenQuotaExceededError } from './errors.js'

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
    expect(error.message).toBe('Token quota "user-daily" exceeded for identifier "alice": 900 used and 50 reserved of 1000, 100 requested; retry in 61s')
    expect(error.status).toBe(429)
    expect(error.remaining).toBe(50)
    expect(error.toHeaders(0)).toEqual({
      'retry-after': '61',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '50',
      'x-ratelimit-reset-tokens': '61s',
    })
  })

  it('keeps the cause', () => {
    const cause = new Error('ECONNREFUSED')
    expect(new StoreUnavailableError({ message: 'down', cause }).cause).toBe(cause)
  })
})
