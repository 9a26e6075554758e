import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it, vi } from 'vitest'
import { LeaseSettledError, QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import type { LeaseExpiredEvent, WarningEvent } from './events.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from './token-quota.js'
import type { TokenQuotaOptions } from './token-quota-options.js'

const day = 86_400_000
const userDaily: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day' }

function setup(policies: readonly QuotaPolicy[] = [userDaily], options: Partial<TokenQuotaOptions> = {}) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const quota = createTokenQuota({ policies, now: clock.now, ...options })
  return { clock, quota }
}

async function refusalOf(promise: Promise<unknown>): Promise<TokenQuotaExceededError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!TokenQuotaExceededError.isInstance(error)) throw new Error(`expected TokenQuotaExceededError, got ${String(error)}`)
  return error
}

describe('reserve and commit', () => {
  it('charges the real usage in place of the reservation', async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 1200, model: 'gpt-4o' })
    expect(lease.decisions).toMatchObject([{ name: 'user-daily', identifier: 'alice', allowed: 10_000, used: 0, reserved: 1200, available: 8800 }])
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ name: 'user-daily', used: 0, reserved: 1200 }])

    const result = await lease.commit({ input: 900, output: 250, total: 1150 })
    expect(result).toEqual({ charges: [{ policy: 'user-daily', identifier: 'alice', amount: 1150, unit: 'tokens' }], estimated: false })
    expect(await quota.status({ user: 'alice' })).toMatchObject([
      {
        name: 'user-daily',
        policy: 'user-daily',
        identifier: 'alice',
        used: 1150,
        reserved: 0,
        available: 8850,
        allowed: 10_000,
        resetAt: Date.parse('2026-03-15T00:00:00Z'),
      },
    ])
  })

  it('refuses what does not fit, before anything is charged, with exact retry time and headers', async () => {
    const { quota, clock } = setup()
    await (await quota.reserve({ user: 'alice' }, { estimate: 9000 })).commit({ total: 9000 })
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1001 }))
    expect(error).toMatchObject({
      status: 429,
      code: 'TokenQuotaExceeded',
      policy: 'user-daily',
      identifier: 'alice',
      limit: 10_000,
      used: 9000,
      requested: 1001,
    })
    expect(error.retryAfterMs).toBe(14 * 3_600_000)
    expect(error.resetAt).toBe(Date.parse('2026-03-15T00:00:00Z'))
    expect(error.toHeaders(clock.now())).toEqual({
      'retry-after': String(14 * 3600),
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': '1000',
      'x-ratelimit-reset-tokens': `${14 * 3600}s`,
    })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 9000, reserved: 0 }])
    // Exactly what is left still fits.
    await quota.reserve({ user: 'alice' }, { estimate: 1000 })
  })

  it('is all or nothing across policies: a refusal by one leaves the others untouched', async () => {
    const org: QuotaPolicy = { name: 'org-daily', allow: 5000, interval: 1, timeUnit: 'day' }
    const { quota } = setup([userDaily, org])
    await quota.reserve({ user: 'bob' }, { estimate: 4500 })
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 600 }))
    expect(error.policy).toBe('org-daily')
    expect(error.identifier).toBeNull()
    expect(await quota.status({ user: 'alice' })).toMatchObject([
      { name: 'user-daily', used: 0, reserved: 0 },
      { name: 'org-daily', used: 0, reserved: 4500 },
    ])
  })

  it('reports the policy that frees up last when several refuse', async () => {
    const minuteLimit: QuotaPolicy = { name: 'user-minute', identifier: 'user', allow: 100, interval: 1, timeUnit: 'minute' }
    const { quota } = setup([minuteLimit, { ...userDaily, allow: 100 }])
    await quota.reserve({ user: 'alice' }, { estimate: 100 })
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1 }))
    expect(error.policy).toBe('user-daily')
    expect(error.violations.map((violation) => violation.policy)).toEqual(['user-daily', 'user-minute'])
  })

  it('never admits more than the limit under concurrency', async () => {
    const { quota } = setup()
    const results = await Promise.allSettled(Array.from({ length: 100 }, () => quota.reserve({ user: 'alice' }, { estimate: 300 })))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(33)
    expect(results.filter((result) => result.status === 'rejected').every((result) => TokenQuotaExceededError.isInstance(result.reason))).toBe(true)
  })

  it('returns a released reservation unused', async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 10_000 })
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1 }))
    await lease.release()
    expect(lease.state).toBe('released')
    await quota.reserve({ user: 'alice' }, { estimate: 10_000 })
  })

  it('charges the reservation when committed without usage (never zero)', async () => {
    const { quota } = setup()
    const result = await (await quota.reserve({ user: 'alice' }, { estimate: { input: 700, output: 500 } })).commit()
    expect(result).toMatchObject({ estimated: true, charges: [{ amount: 1200 }] })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 1200 }])
  })

  it('makes a second settle a typed error, never a double charge', async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 100 })
    await lease.commit({ total: 80 })
    await expect(lease.commit({ total: 80 })).rejects.toSatisfy(LeaseSettledError.isInstance)
    await expect(lease.release()).rejects.toMatchObject({ code: 'LeaseAlreadySettled', settledAs: 'committed' })
    const released = await quota.reserve({ user: 'alice' }, { estimate: 100 })
    await released.release()
    await expect(released.commit({ total: 5 })).rejects.toMatchObject({ code: 'LeaseAlreadySettled', settledAs: 'released' })
    const concurrent = await quota.reserve({ user: 'alice' }, { estimate: 100 })
    const [first, second] = await Promise.allSettled([concurrent.commit({ total: 10 }), concurrent.commit({ total: 10 })])
    expect(first.status).toBe('fulfilled')
    expect(second.status).toBe('rejected')
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 90, reserved: 0 }])
  })

  it('charges an unsettled lease its estimate when it expires, says so, and lets a late commit replace that charge once', async () => {
    const expired: LeaseExpiredEvent[] = []
    const { quota, clock } = setup([userDaily], { leaseTtlMs: 30_000, on: { leaseExpired: (event) => expired.push(event) } })
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 10_000, model: 'gpt-4o' })
    clock.advance(29_999)
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1 }))
    expect(expired).toEqual([])
    clock.advance(1)
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 10_000, reserved: 0 }])
    expect(expired).toEqual([
      {
        leaseId: lease.id,
        context: { user: 'alice' },
        model: 'gpt-4o',
        outcome: 'charged',
        holds: [{ policy: 'user-daily', identifier: 'alice', amount: 10_000 }],
      },
    ])
    await lease.commit({ total: 4000 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 4000, reserved: 0 }])
    expect(expired).toHaveLength(1)
  })

  it("returns an expired lease's hold instead with onLeaseExpiry: 'release', and still charges its late commit once", async () => {
    const expired: LeaseExpiredEvent[] = []
    const { quota, clock } = setup([userDaily], { leaseTtlMs: 30_000, onLeaseExpiry: 'release', on: { leaseExpired: (event) => expired.push(event) } })
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 10_000 })
    clock.advance(30_000)
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 0, reserved: 0 }])
    expect(expired.map((event) => event.outcome)).toEqual(['released'])
    await lease.commit({ total: 4000 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 4000, reserved: 0 }])
  })

  it('refuses an unknown onLeaseExpiry with a typed error', () => {
    expect(() => setup([userDaily], { onLeaseExpiry: 'forgive' as never })).toThrow(
      expect.objectContaining({ code: 'InvalidConfiguration', field: 'onLeaseExpiry' }),
    )
  })

  it('says on stderr, when a process exits, how many calls it left unsettled, unless it closed the engine first', async () => {
    // A real exit, on the built package (npm test builds before it tests).
    const exitWith = async (closes: boolean) => {
      const script = `
        import { createTokenQuota } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)}
        const quota = createTokenQuota({ policies: [{ name: 'd', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }] })
        await quota.reserve({ user: 'alice' }, { estimate: 100 })
        await quota.reserve({ user: 'bob' }, { estimate: 100 })
        ${closes ? 'await quota.close()' : ''}`
      const { stderr } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script])
      return stderr
    }
    expect(await exitWith(false)).toMatch(/exits with 2 call\(s\) not settled in the store; their reservations will be charged when their leases expire/)
    expect(await exitWith(true)).toBe('')
  })

  it('rejects malformed usage with a typed error and keeps the lease open', async () => {
    const { quota } = setup()
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 500 })
    for (const usage of [{ total: Number.NaN }, { input: -1 }, { output: 1.5 }, { total: 1e12 }, { input: 10, output: 10, total: 5 }, {}, { total: '12' }]) {
      await expect(lease.commit(usage as never)).rejects.toSatisfy((error: unknown) => QuotaInputError.isInstance(error) && error.code === 'InvalidUsage')
    }
    expect(lease.state).toBe('pending')
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 0, reserved: 500 }])
    await lease.commit({ input: 100, output: 50 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 150, reserved: 0 }])
  })

  it('rejects malformed estimates and contexts with typed errors', async () => {
    const { quota } = setup()
    for (const estimate of [Number.NaN, -5, 2.5, Infinity, { input: 1 }]) {
      await expect(quota.reserve({ user: 'alice' }, { estimate: estimate as never })).rejects.toMatchObject({ code: 'InvalidEstimate' })
    }
    await expect(quota.reserve('alice' as never)).rejects.toMatchObject({ code: 'InvalidContext' })
  })
})

describe('windows through the engine', () => {
  it('resets a default window at the UTC boundary', async () => {
    const { quota, clock } = setup()
    await (await quota.reserve({ user: 'alice' }, { estimate: 10_000 })).commit()
    clock.set('2026-03-14T23:59:59.999Z')
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1 }))
    clock.advance(1)
    await quota.reserve({ user: 'alice' }, { estimate: 10_000 })
  })

  it('starts a flexi window at the first request', async () => {
    const { quota, clock } = setup([{ name: 'flexi-hour', type: 'flexi', identifier: 'user', allow: 100, interval: 1, timeUnit: 'hour' }])
    clock.set('2026-03-14T10:17:00Z')
    await (await quota.reserve({ user: 'alice' }, { estimate: 100 })).commit()
    clock.set('2026-03-14T11:16:59Z')
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1 }))
    expect(error.resetAt).toBe(Date.parse('2026-03-14T11:17:00Z'))
    expect(error.retryAfterMs).toBe(1000)
    clock.set('2026-03-14T11:17:00Z')
    await quota.reserve({ user: 'alice' }, { estimate: 100 })
  })

  it('slides a rolling window and says exactly when enough tokens have left it', async () => {
    const { quota, clock } = setup([{ name: 'rolling', type: 'rollingwindow', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'hour' }])
    clock.set('2026-03-14T10:00:00Z')
    await (await quota.reserve({ user: 'alice' }, { estimate: 600 })).commit()
    clock.set('2026-03-14T10:30:00Z')
    await (await quota.reserve({ user: 'alice' }, { estimate: 400 })).commit()
    clock.set('2026-03-14T10:45:00Z')
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 500 }))
    // Buckets are 1 minute: the 600 tokens of 10:00 leave at 11:01.
    expect(error.retryAfterMs).toBe(16 * 60_000)
    clock.set('2026-03-14T11:00:59.999Z')
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 500 }))
    clock.set('2026-03-14T11:01:00Z')
    await quota.reserve({ user: 'alice' }, { estimate: 500 })
  })

  it('follows a calendar policy from its startTime', async () => {
    const { quota, clock } = setup([
      { name: 'billing', type: 'calendar', startTime: '2026-01-15 00:00:00', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month' },
    ])
    clock.set('2026-03-14T10:00:00Z')
    await (await quota.reserve({ user: 'alice' }, { estimate: 100 })).commit()
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1 }))
    expect(error.resetAt).toBe(Date.parse('2026-03-15T00:00:00Z'))
    clock.set('2026-03-15T00:00:00Z')
    expect(await quota.status({ user: 'alice' })).toMatchObject([
      { used: 0, windowStart: Date.parse('2026-03-15T00:00:00Z'), resetAt: Date.parse('2026-04-15T00:00:00Z') },
    ])
  })
})

describe('identifiers and classes', () => {
  it('refuses a request without identity, with a clear typed error', async () => {
    const { quota } = setup()
    await expect(quota.reserve({}, { estimate: 1 })).rejects.toSatisfy(
      (error: unknown) => QuotaInputError.isInstance(error) && error.code === 'UnresolvedIdentifier' && /withContext/.test(error.message),
    )
  })

  it('charges a declared default bucket instead, kept apart from a user of the same name', async () => {
    const { quota } = setup([{ ...userDaily, allow: 100, unidentified: { bucket: 'anonymous' } }])
    await (await quota.reserve({}, { estimate: 100 })).commit()
    await refusalOf(quota.reserve({}, { estimate: 1 }))
    await quota.reserve({ user: 'anonymous' }, { estimate: 100 })
  })

  it('keeps hostile identifiers apart and rejects non-string ones', async () => {
    const { quota } = setup([{ ...userDaily, allow: 10 }])
    const identifiers = ['{}', ':', '*', 'a\nb', 'a\u0000b', 'x'.repeat(256), `${'x'.repeat(255)}y`, '\uD800', '\uFFFD', '42']
    for (const user of identifiers) await (await quota.reserve({ user }, { estimate: 10 })).commit()
    for (const user of identifiers) await refusalOf(quota.reserve({ user }, { estimate: 1 }))
    // A numeric identifier is the same caller as its string form.
    await refusalOf(quota.reserve({ user: 42 as never }, { estimate: 1 }))
    for (const user of [{}, ['a'], true, Number.NaN]) {
      await expect(quota.reserve({ user: user as never }, { estimate: 1 })).rejects.toMatchObject({ code: 'InvalidIdentifier' })
    }
  })

  it('takes the limit from a class table and refuses an unknown class', async () => {
    const plans: QuotaPolicy = {
      name: 'plan-daily',
      identifier: 'user',
      allow: { class: 'plan', counts: { premium: 500, standard: 100 } },
      interval: 1,
      timeUnit: 'day',
    }
    const { quota } = setup([plans])
    await quota.reserve({ user: 'alice', plan: 'premium' }, { estimate: 500 })
    await refusalOf(quota.reserve({ user: 'bob', plan: 'standard' }, { estimate: 101 }))
    const unknown = await refusalOf(quota.reserve({ user: 'carol', plan: 'platinum' }, { estimate: 1 }))
    expect(unknown).toMatchObject({ code: 'UnknownQuotaClass', class: 'platinum', limit: 0, retryAfterMs: null })
    await expect(quota.reserve({ user: 'dave' }, { estimate: 1 })).rejects.toMatchObject({ code: 'UnknownQuotaClass' })
    expect(await quota.status({ user: 'carol', plan: 'platinum' })).toMatchObject([{ class: 'platinum', allowed: 0, available: 0 }])
  })

  it('keeps one counter per class, as Apigee does', async () => {
    const plans: QuotaPolicy = {
      name: 'plan-daily',
      identifier: 'user',
      allow: { class: 'plan', counts: { premium: 500, standard: 100 } },
      interval: 1,
      timeUnit: 'day',
    }
    const { quota } = setup([plans])
    await (await quota.reserve({ user: 'alice', plan: 'standard' }, { estimate: 100 })).commit()
    expect(await quota.status({ user: 'alice', plan: 'premium' })).toMatchObject([{ class: 'premium', used: 0, allowed: 500 }])
  })

  it('takes the limit from an allow function, sync or async, and types its failures', async () => {
    const limits: Record<string, number> = { alice: 50 }
    const { quota } = setup([
      { name: 'from-db', identifier: 'user', allow: async (context) => limits[context.user as string] ?? 10, interval: 1, timeUnit: 'day' },
      { name: 'sync', identifier: 'user', allow: () => 1000, interval: 1, timeUnit: 'day' },
    ])
    await quota.reserve({ user: 'alice' }, { estimate: 50 })
    await refusalOf(quota.reserve({ user: 'bob' }, { estimate: 11 }))

    const failing = setup([
      {
        name: 'broken',
        identifier: 'user',
        allow: () => {
          throw new Error('db down')
        },
        interval: 1,
        timeUnit: 'day',
      },
    ]).quota
    await expect(failing.reserve({ user: 'alice' }, { estimate: 1 })).rejects.toMatchObject({ code: 'PolicyFunctionFailed', policy: 'broken' })
    const rejecting = setup([
      { name: 'rejecting', identifier: 'user', allow: async () => Promise.reject(new Error('timeout')), interval: 1, timeUnit: 'day' },
    ]).quota
    await expect(rejecting.reserve({ user: 'alice' }, { estimate: 1 })).rejects.toMatchObject({ code: 'PolicyFunctionFailed' })
    const nan = setup([{ name: 'nan', identifier: 'user', allow: () => Number.NaN, interval: 1, timeUnit: 'day' }]).quota
    await expect(nan.reserve({ user: 'alice' }, { estimate: 1 })).rejects.toMatchObject({ code: 'PolicyFunctionFailed' })
  })
})

describe('context', () => {
  it('takes the caller from withContext, across awaits, merged with outer scopes and explicit values', async () => {
    const { quota } = setup([
      { ...userDaily, allow: 100 },
      { name: 'org', identifier: 'org', allow: 1000, interval: 1, timeUnit: 'day' },
    ])
    await quota.withContext({ org: 'acme' }, async () => {
      await quota.withContext({ user: 'alice' }, async () => {
        await new Promise((resolve) => setImmediate(resolve))
        expect(quota.currentContext()).toEqual({ org: 'acme', user: 'alice' })
        await (await quota.reserve(undefined, { estimate: 60 })).commit()
      })
      await (await quota.reserve({ user: 'bob' }, { estimate: 70 })).commit()
    })
    expect(quota.currentContext()).toBeUndefined()
    expect(await quota.status({ user: 'alice', org: 'acme' })).toMatchObject([{ used: 60 }, { used: 130 }])
  })
})

describe('what is counted', () => {
  const usage = { input: 1000, output: 200, total: 1200, cachedInput: 400, cacheWrite: 300, reasoning: 50 }

  it.each([
    ['total', 1200],
    ['input', 1000],
    ['output', 200],
    ['requests', 1],
    [{ input: 1, output: 4 }, 1800],
    [{ input: 1, cachedInput: 0.25, output: 4, reasoning: 8 }, 600 + 100 + 600 + 400],
    [{ input: 1, cachedInput: 0.1, cacheWrite: 1.25, output: 5 }, 300 + 40 + 375 + 1000],
  ] as const)('count %j charges %i', async (count, expected) => {
    const { quota } = setup([{ ...userDaily, allow: 1_000_000, count }])
    const result = await (await quota.reserve({ user: 'alice' }, { estimate: { input: 1000, output: 300 } })).commit(usage)
    expect(result.charges[0]!.amount).toBe(expected)
  })

  it('reserves an upper bound of the weighted charge', async () => {
    const { quota } = setup([{ ...userDaily, allow: 1_000_000, count: { input: 1, output: 4 } }])
    const split = await quota.reserve({ user: 'alice' }, { estimate: { input: 1000, output: 300 } })
    expect(split.decisions[0]!.reserved).toBe(2200)
    const total = await quota.reserve({ user: 'bob' }, { estimate: 1000 })
    expect(total.decisions[0]!.reserved).toBe(4000)
  })

  it('reserves every input token at the dearest input weight: a cache write may cost more than a plain token', async () => {
    const { quota } = setup([{ ...userDaily, allow: 1_000_000, count: { input: 1, cacheWrite: 1.25, output: 5 } }])
    const lease = await quota.reserve({ user: 'alice' }, { estimate: { input: 1000, output: 300 } })
    expect(lease.decisions[0]!.reserved).toBe(1250 + 1500)
    expect((await lease.commit({ input: 1000, cacheWrite: 1000, output: 300 })).charges[0]!.amount).toBe(1250 + 1500)
  })

  it('applies per-model policies only to matching models, and warns about models nothing matches', async () => {
    const warnings: string[] = []
    const { quota } = setup(
      [
        { name: 'gpt-4o-daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day', models: ['gpt-4o', 'gpt-4o-2024-*'] },
        { name: 'mini-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day', models: ['GPT-4O-MINI*'] },
      ],
      { on: { warning: (event) => warnings.push(event.message) } },
    )
    await (await quota.reserve({ user: 'alice' }, { estimate: 100, model: 'gpt-4o-2024-08-06' })).commit()
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1, model: 'gpt-4o' }))
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 5000, model: 'gpt-4o-mini' })
    expect(lease.decisions.map((decision) => decision.name)).toEqual(['mini-daily'])
    await quota.reserve({ user: 'alice' }, { estimate: 5000, model: 'o3' })
    await quota.reserve({ user: 'alice' }, { estimate: 5000, model: 'o3' })
    expect(warnings).toEqual(['Model "o3" matches no per-model policy; it is not limited at all. Check the policies\' `models` globs.'])
  })
})

describe('modes and shared counters', () => {
  it('never refuses in count-only (shadow) mode, but counts', async () => {
    const { quota } = setup([{ ...userDaily, allow: 100, mode: 'count-only' }])
    await (await quota.reserve({ user: 'alice' }, { estimate: 500 })).commit({ total: 450 })
    await (await quota.reserve({ user: 'alice' }, { estimate: 500 })).commit({ total: 450 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 900, allowed: 100, available: 0, mode: 'count-only' }])
  })

  it('joins an enforce-only and a count-only policy on one shared counter, reserving so concurrency cannot overshoot', async () => {
    const { quota } = setup([
      { name: 'enforce', sharedName: 'common', mode: 'enforce-only', identifier: 'user', allow: 1000, interval: 30, timeUnit: 'minute', type: 'rollingwindow' },
      { name: 'count', sharedName: 'common', mode: 'count-only', identifier: 'user', allow: 1000, interval: 30, timeUnit: 'minute', type: 'rollingwindow' },
    ])
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => quota.reserve({ user: 'alice' }, { estimate: 300 })))
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(3)
    const error = (results.find((result) => result.status === 'rejected') as PromiseRejectedResult).reason
    expect(error).toMatchObject({ policy: 'enforce', limit: 1000 })
    const status = await quota.status({ user: 'alice' })
    expect(status).toMatchObject([
      { name: 'enforce', reserved: 900 },
      { name: 'count', reserved: 900 },
    ])
  })

  it('lets an enforce-only policy check without counting when its partner does not apply', async () => {
    const { quota } = setup([
      { name: 'enforce', sharedName: 'common', mode: 'enforce-only', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' },
      { name: 'count', sharedName: 'common', mode: 'count-only', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day', models: ['gpt-4o'] },
    ])
    await quota.reserve({ user: 'alice' }, { estimate: 100, model: 'o3' })
    await quota.reserve({ user: 'alice' }, { estimate: 100, model: 'o3' })
    await (await quota.reserve({ user: 'alice' }, { estimate: 100, model: 'gpt-4o' })).commit()
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 1, model: 'o3' }))
  })

  it('check() enforces without holding, record() counts without checking', async () => {
    const { quota } = setup([{ ...userDaily, allow: 100 }])
    expect(await quota.check({ user: 'alice' })).toMatchObject([{ used: 0, reserved: 0, available: 100 }])
    await quota.record({ user: 'alice' }, { input: 80, output: 40 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 120, reserved: 0, available: 0 }])
    await refusalOf(quota.check({ user: 'alice' }))
    await expect(quota.record({ user: 'alice' }, { total: -1 })).rejects.toMatchObject({ code: 'InvalidUsage' })
  })

  it('record() starts a flexi window like any charge', async () => {
    const { quota, clock } = setup([{ name: 'flexi', type: 'flexi', identifier: 'user', allow: 100, interval: 1, timeUnit: 'hour' }])
    await quota.record({ user: 'alice' }, { total: 60 })
    clock.advance(59 * 60_000)
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 60 }])
    clock.advance(60_000)
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 0 }])
  })
})

describe('request-level caps', () => {
  it('refuses a request above maxTokensPerRequest', async () => {
    const { quota } = setup([{ ...userDaily, maxTokensPerRequest: 4000 }])
    const error = await refusalOf(quota.reserve({ user: 'alice' }, { estimate: { input: 3000, output: 1500 } }))
    expect(error).toMatchObject({ code: 'RequestTooLarge', limit: 4000, requested: 4500, retryAfterMs: null })
    expect(error.toHeaders()).not.toHaveProperty('retry-after')
  })

  it('clamps the output budget instead when asked', async () => {
    const { quota } = setup([{ ...userDaily, maxTokensPerRequest: { limit: 4000, action: 'clamp' } }])
    const lease = await quota.reserve({ user: 'alice' }, { estimate: { input: 3000, output: 1500 } })
    expect(lease.maxOutputTokens).toBe(1000)
    expect(lease.decisions[0]!.reserved).toBe(4000)
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: { input: 4000, output: 100 } }))
  })

  it('refuses a request larger than the whole limit with RequestTooLarge, not a retry time', async () => {
    const { quota } = setup([{ ...userDaily, allow: 100 }])
    expect(await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 101 }))).toMatchObject({ code: 'RequestTooLarge', retryAfterMs: null })
  })
})

describe('thresholds', () => {
  it('fires each soft level once per window and identifier', async () => {
    const events: string[] = []
    const { quota, clock } = setup(
      [
        {
          ...userDaily,
          allow: 1000,
          thresholds: [
            { at: 0.5, action: 'warn' },
            { at: 0.8, action: 'warn', channels: ['slack'] },
          ],
        },
      ],
      {
        on: { threshold: (event) => events.push(`${event.identifier}@${event.threshold.at}:${event.used}`) },
      },
    )
    const spend = async (user: string, total: number) => (await quota.reserve({ user }, { estimate: total })).commit({ total })
    await spend('alice', 400)
    await spend('alice', 100)
    await spend('alice', 100)
    await spend('alice', 350)
    await spend('bob', 900)
    expect(events).toEqual(['alice@0.5:500', 'alice@0.8:950', 'bob@0.5:900', 'bob@0.8:900'])
    clock.advance(day)
    await spend('alice', 600)
    expect(events.slice(4)).toEqual(['alice@0.5:600'])
  })

  it('paces a throttled identifier instead of refusing it', async () => {
    vi.useFakeTimers()
    try {
      const throttled: string[] = []
      const { quota } = setup([{ ...userDaily, allow: 1000, thresholds: [{ at: 0.5, action: 'throttle', minIntervalMs: 2000 }] }], {
        on: { throttle: (event) => throttled.push(`${event.identifier}:${event.minIntervalMs}`) },
      })
      await (await quota.reserve({ user: 'alice' }, { estimate: 600 })).commit()
      expect(throttled).toEqual(['alice:2000'])

      const started: number[] = []
      const calls = Array.from({ length: 3 }, (_, index) => quota.reserve({ user: 'alice' }, { estimate: 10 }).then(() => started.push(index)))
      const other = quota.reserve({ user: 'bob' }, { estimate: 10 })
      await vi.advanceTimersByTimeAsync(0)
      await other
      expect(started).toEqual([0])
      await vi.advanceTimersByTimeAsync(2000)
      expect(started).toEqual([0, 1])
      await vi.advanceTimersByTimeAsync(2000)
      await Promise.all(calls)
      expect(started).toEqual([0, 1, 2])
    } finally {
      vi.useRealTimers()
    }
  })
})

describe('throttles', () => {
  it('never fails, double-charges or leaks a hold when a pacing function throws', async () => {
    const warnings: string[] = []
    const { quota } = setup(
      [
        {
          ...userDaily,
          allow: 100,
          thresholds: [
            {
              at: 0.5,
              action: 'throttle',
              minIntervalMs: () => {
                throw new Error('plan lookup failed')
              },
            },
          ],
        },
      ],
      {
        on: { warning: (event) => warnings.push(event.code) },
      },
    )
    // The commit that crosses the threshold, then a reservation that notices it.
    expect(await (await quota.reserve({ user: 'alice' }, { estimate: 80 })).commit({ total: 60 })).toMatchObject({ charges: [{ amount: 60 }] })
    await (await quota.reserve({ user: 'alice' }, { estimate: 10 })).commit({ total: 10 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 70, reserved: 0 }])
    expect(warnings).toContain('PolicyFunctionFailed')
  })
})

describe('events and store failures', () => {
  it('reports refusals and usage', async () => {
    const seen: string[] = []
    const { quota } = setup([{ ...userDaily, allow: 100 }], {
      on: { exceeded: (event) => seen.push(`exceeded:${event.error.policy}`), usage: (event) => seen.push(`usage:${event.usage.total}`) },
    })
    await (await quota.reserve({ user: 'alice' }, { estimate: 100 })).commit({ total: 90 })
    await refusalOf(quota.reserve({ user: 'alice' }, { estimate: 20 }))
    expect(seen).toEqual(['usage:90', 'exceeded:user-daily'])
  })

  it('survives a listener that throws', async () => {
    const warnings: string[] = []
    const { quota } = setup([userDaily], {
      on: {
        usage: () => {
          throw new Error('listener bug')
        },
        warning: (event) => warnings.push(event.code),
      },
    })
    await (await quota.reserve({ user: 'alice' }, { estimate: 1 })).commit()
    expect(warnings).toEqual(['ListenerFailed'])
  })
})

describe('learning from what providers report', () => {
  it('raises a model whose prompts run over their estimates, warns once with the ratio, and reports the figures', async () => {
    const warnings: WarningEvent[] = []
    const { quota } = setup([userDaily], { on: { warning: (event) => warnings.push(event) } })
    quota.noteEstimate('gpt-4o', 100, 80)
    expect(warnings).toEqual([])
    quota.noteEstimate('gpt-4o', 100, 150)
    quota.noteEstimate('gpt-4o', 100, 120)
    expect(warnings.map((warning) => warning.code)).toEqual(['EstimateLow'])
    expect(warnings[0]!.message).toContain('1.50×')
    expect(quota.estimateStats()).toEqual([
      { model: 'gpt-4o', calls: 3, estimatedTokens: 300, reportedTokens: 350, worstRatio: 1.5, correction: expect.closeTo(1.49, 2) },
    ])
    // The next gpt-4o reservation holds the raised estimate; another model's does not.
    await quota.reserve({ user: 'alice' }, { estimate: { input: 1000, output: 0 }, model: 'gpt-4o' })
    await quota.reserve({ user: 'alice' }, { estimate: { input: 1000, output: 0 }, model: 'gpt-4.1' })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ reserved: 1490 + 1000 }])
  })

  it('never lowers an estimate: a model whose estimates hold keeps a correction of 1', () => {
    const { quota } = setup()
    for (let call = 0; call < 50; call += 1) quota.noteEstimate('gpt-4o', 100, 40)
    expect(quota.estimateStats()[0]).toMatchObject({ correction: 1, worstRatio: 0.4 })
  })
})

describe('per-request caps against what the provider reports', () => {
  it('warns when the provider reports more than the cap the reservation was checked against', async () => {
    const warnings: WarningEvent[] = []
    const { quota } = setup([{ ...userDaily, maxTokensPerRequest: 1000 }], { on: { warning: (event) => warnings.push(event) } })
    const within = await quota.reserve({ user: 'alice' }, { estimate: { input: 400, output: 500 } })
    await within.commit({ input: 450, output: 500 })
    expect(warnings).toEqual([])
    const over = await quota.reserve({ user: 'alice' }, { estimate: { input: 400, output: 500 } })
    await over.commit({ input: 700, output: 500 })
    expect(warnings).toMatchObject([{ code: 'OverRequestCap', message: expect.stringContaining('1200 tokens for a call capped at 1000 by "user-daily"') }])
  })
})
