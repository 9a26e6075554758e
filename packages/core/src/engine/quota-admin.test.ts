import { describe, expect, it } from 'vitest'
import { QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import type { AuditEntry } from '../store/store-admin.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from './token-quota.js'

const hour = 3_600_000
const policies: QuotaPolicy[] = [
  { name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' },
  { name: 'org-daily', identifier: 'org', allow: 100_000, interval: 1, timeUnit: 'day' },
  {
    name: 'plan-daily',
    identifier: 'user',
    allow: { class: (context) => context.plan as string, counts: { free: 100, pro: 5000 } },
    interval: 1,
    timeUnit: 'day',
  },
  { name: 'spend-daily', identifier: 'user', count: 'usd', allow: 2, interval: 1, timeUnit: 'day', unpriced: { input: 1, output: 1 } },
]

function setup() {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const events: AuditEntry[] = []
  const quota = createTokenQuota({ policies, now: clock.now, prices: [], on: { admin: (event) => events.push(event) } })
  return { clock, quota, events }
}

/** A caller of org acme on the pro plan, unless said otherwise. */
const caller = (user: string, plan = 'pro') => ({ user, org: 'acme', plan })

async function spend(quota: ReturnType<typeof setup>['quota'], context: Record<string, string>, total: number) {
  const lease = await quota.reserve(context, { estimate: total, model: 'm' })
  await lease.commit({ input: total, output: 0 })
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

describe('quota.admin', () => {
  it('inspects every policy that counts a caller: used, reserved, limit in force, reset, class', async () => {
    const { quota } = setup()
    await spend(quota, caller('alice'), 80)
    await quota.reserve(caller('alice'), { estimate: 20, model: 'm' })
    const rows = await quota.admin.inspect({ user: 'alice', plan: 'pro' }) // no org
    expect(rows.map((row) => row.policy)).toEqual(['user-daily', 'plan-daily', 'spend-daily']) // no org: org-daily is not alice's
    expect(rows[0]).toMatchObject({ identifier: 'alice', used: 80, reserved: 20, allowed: 1000, policyAllowed: 1000, available: 900, overrides: [] })
    expect(rows[1]).toMatchObject({ class: 'pro', allowed: 5000 })
    expect(rows[0]!.resetAt).toBe(Date.parse('2026-03-15T00:00:00Z'))
  })

  it('grants tokens to one caller until a time: refused before, admitted after, back to the policy at the end', async () => {
    const { clock, quota, events } = setup()
    await spend(quota, caller('alice'), 950)
    const refused = await rejection(quota.reserve(caller('alice'), { estimate: 200, model: 'm' }))
    expect(TokenQuotaExceededError.isInstance(refused) && refused.code).toBe('TokenQuotaExceeded')

    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 500, until: clock.now() + hour, by: 'ops', reason: 'launch' })
    const [row] = await quota.admin.inspect(caller('alice'))
    expect(row).toMatchObject({
      allowed: 1500,
      policyAllowed: 1000,
      overrides: [{ kind: 'grant', scope: 'identifier', amount: 500, until: clock.now() + hour }],
    })
    expect(row!.lastRefusal).toMatchObject({ requested: 200, limit: 1000, used: 950, reserved: 0 })
    expect(row!.lastRefusal!.reason).toBe('needs ~200 tokens, 50 left of 1000 (950 used, 0 reserved)')
    await spend(quota, caller('alice'), 200)
    await spend(quota, caller('bob'), 900) // bob has no grant
    expect(await rejection(quota.reserve(caller('bob'), { estimate: 200, model: 'm' }))).toBeInstanceOf(TokenQuotaExceededError)

    clock.advance(hour)
    const late = await rejection(quota.reserve(caller('alice'), { estimate: 1, model: 'm' }))
    expect(TokenQuotaExceededError.isInstance(late) && late.violations[0]!.limit).toBe(1000)
    expect(events).toEqual([
      {
        at: Date.parse('2026-03-14T10:00:00Z'),
        by: 'ops',
        action: 'grant',
        policy: 'user-daily',
        identifier: 'alice',
        amount: 500,
        until: Date.parse('2026-03-14T11:00:00Z'),
        reason: 'launch',
      },
    ])
    expect(await quota.admin.audit()).toEqual(events)
  })

  it('a grant makes a request that is too large for the policy fit; without it the refusal says too large', async () => {
    const { quota } = setup()
    const tooLarge = await rejection(quota.reserve(caller('alice'), { estimate: 1200, model: 'm' }))
    expect(TokenQuotaExceededError.isInstance(tooLarge) && tooLarge.code).toBe('RequestTooLarge')
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 300 })
    await spend(quota, caller('alice'), 1200)
  })

  it("sets a class's allow for every identifier of the class, and clears it", async () => {
    const { quota } = setup()
    await quota.admin.set({ policy: 'plan-daily', class: 'free', allow: 300, by: 'ops' })
    await spend(quota, caller('carol', 'free'), 250)
    const [, plan] = await quota.admin.inspect({ user: 'carol', plan: 'free' })
    expect(plan).toMatchObject({ allowed: 300, overrides: [{ kind: 'allow', scope: 'class', amount: 300 }] })
    await quota.admin.clear({ policy: 'plan-daily', class: 'free', by: 'ops' })
    expect(await rejection(quota.reserve(caller('carol', 'free'), { estimate: 10, model: 'm' }))).toBeInstanceOf(TokenQuotaExceededError)
    expect((await quota.admin.audit()).map((entry) => [entry.action, entry.class, entry.identifier])).toEqual([
      ['clear', 'free', null],
      ['allow', 'free', null],
    ])
  })

  it('overrides a money policy in dollars', async () => {
    const { quota } = setup()
    await quota.admin.set({ policy: 'spend-daily', context: { user: 'dan' }, allow: 0.5 })
    const rows = await quota.admin.inspect({ user: 'dan' })
    expect(rows.find((row) => row.policy === 'spend-daily')).toMatchObject({ unit: 'usd', allowed: 0.5, policyAllowed: 2, overrides: [{ amount: 0.5 }] })
  })

  it("resets one caller's window: usage gone, reservations in flight kept, others untouched", async () => {
    const { quota, events } = setup()
    await spend(quota, caller('alice'), 900)
    await spend(quota, caller('bob'), 900)
    await quota.reserve(caller('alice'), { estimate: 50, model: 'm' })
    await quota.admin.reset({ policy: 'user-daily', context: { user: 'alice' }, by: 'ops' })
    const [alice] = await quota.admin.inspect({ user: 'alice' })
    const [bob] = await quota.admin.inspect({ user: 'bob' })
    expect([alice!.used, alice!.reserved, bob!.used]).toEqual([0, 50, 900])
    expect(events.at(-1)).toMatchObject({ action: 'reset', policy: 'user-daily', identifier: 'alice', by: 'ops' })
  })

  it('thresholds are shares of the limit in force: a grant moves them', async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const crossed: number[] = []
    const quota = createTokenQuota({
      policies: [{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day', thresholds: [{ at: 0.8, action: 'warn' }] }],
      now: clock.now,
      on: { threshold: (event) => crossed.push(event.allowed) },
    })
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 1000 })
    await (await quota.reserve({ user: 'alice' }, { estimate: 900 })).commit({ total: 900 }) // 90 % of the policy, 45 % in force
    expect(crossed).toEqual([])
    await (await quota.reserve({ user: 'alice' }, { estimate: 800 })).commit({ total: 800 })
    expect(crossed).toEqual([2000])
  })

  it('a grant or set on a policy without identifier (one shared counter) counts once (issue 27 #2)', async () => {
    const clock = createFakeClock('2026-03-14T10:00:00Z')
    const quota = createTokenQuota({ policies: [{ name: 'org-wide', allow: 1000, interval: 1, timeUnit: 'day' }], now: clock.now })
    await quota.admin.grant({ policy: 'org-wide', add: 500 })
    expect((await quota.admin.inspect({}))[0]).toMatchObject({ allowed: 1500, policyAllowed: 1000, overrides: [{ kind: 'grant', amount: 500 }] })
    expect(await rejection(quota.reserve({}, { estimate: 1600 }))).toBeInstanceOf(TokenQuotaExceededError)
    await quota.admin.set({ policy: 'org-wide', allow: 2000 })
    expect((await quota.admin.inspect({}))[0]!.allowed).toBe(2500)
    expect((await quota.status({}))[0]!.allowed).toBe(2500)
  })

  it('status() shows the limit in force, overrides and grants included, as inspect and the reserve path do (issue 27 #6)', async () => {
    const { quota } = setup()
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 500 })
    await quota.admin.set({ policy: 'plan-daily', class: 'pro', allow: 7000 })
    const status = await quota.status(caller('alice'))
    const inspected = await quota.admin.inspect(caller('alice'))
    expect(status.map((row) => [row.policy, row.allowed])).toEqual([
      ['user-daily', 1500],
      ['org-daily', 100_000],
      ['plan-daily', 7000],
      ['spend-daily', 2],
    ])
    expect(inspected.map((row) => row.allowed)).toEqual(status.map((row) => row.allowed))
    const lease = await quota.reserve(caller('alice'), { estimate: 1500, model: 'm' })
    expect(lease.decisions.find((row) => row.policy === 'user-daily')!.allowed).toBe(1500)
  })

  it('each grant keeps its own amount and end: a later one neither stretches nor merges an earlier one (issue 27 #10)', async () => {
    const { clock, quota } = setup()
    const start = clock.now()
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 500, until: start + 2 * hour })
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 7, until: start + 30 * 24 * hour })
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 3 })
    const [row] = await quota.admin.inspect({ user: 'alice' })
    expect(row).toMatchObject({ allowed: 1510 })
    expect(row!.overrides).toEqual([
      { kind: 'grant', scope: 'identifier', amount: 500, until: start + 2 * hour },
      { kind: 'grant', scope: 'identifier', amount: 7, until: start + 30 * 24 * hour },
      { kind: 'grant', scope: 'identifier', amount: 3 },
    ])
    clock.advance(2 * hour)
    expect((await quota.admin.inspect({ user: 'alice' }))[0]!.allowed).toBe(1010)
    expect((await quota.status(caller('alice')))[0]!.allowed).toBe(1010)
  })

  it('an admin change and its audit entry are one step, and a retried change (same idempotency key) applies once (issue 27 #9)', async () => {
    const { quota, events } = setup()
    const grant = { policy: 'user-daily', context: { user: 'alice' }, add: 500, idempotencyKey: 'ticket-42' }
    await quota.admin.grant(grant)
    await quota.admin.grant(grant)
    expect((await quota.admin.inspect({ user: 'alice' }))[0]!.allowed).toBe(1500)
    expect((await quota.admin.audit()).map((entry) => entry.action)).toEqual(['grant'])
    expect(events).toHaveLength(1)
    // The store gets the audit entry with the change: there is no separate append.
    expect('appendAudit' in quota.store.admin!).toBe(false)
  })

  it('says when a change was a replay, and refuses a key reused for a different change (IdempotencyKeyReused) without changing anything', async () => {
    const { quota, events } = setup()
    const target = { policy: 'user-daily', context: { user: 'alice' } }
    expect(await quota.admin.grant({ ...target, add: 1000, idempotencyKey: 'k1' })).toEqual({ replayed: false })
    expect(await quota.admin.grant({ ...target, add: 1000, idempotencyKey: 'k1', reason: 'retry', by: 'bob' })).toEqual({ replayed: true })
    const reused = [
      quota.admin.grant({ ...target, add: 7, idempotencyKey: 'k1' }),
      quota.admin.set({ ...target, allow: 5, idempotencyKey: 'k1' }),
      quota.admin.clear({ ...target, idempotencyKey: 'k1' }),
      quota.admin.reset({ ...target, idempotencyKey: 'k1' }),
      quota.admin.grant({ ...target, context: { user: 'bob' }, add: 1000, idempotencyKey: 'k1' }),
      quota.admin.grant({ policy: 'org-daily', context: { org: 'acme' }, add: 1000, idempotencyKey: 'k1' }),
    ]
    for (const attempt of reused) {
      const error = await rejection(attempt)
      expect(QuotaInputError.isInstance(error), String(error)).toBe(true)
      expect(error).toMatchObject({ code: 'IdempotencyKeyReused' })
      expect((error as Error).message).toMatch(/"k1"/)
    }
    expect((await quota.admin.inspect({ user: 'alice' }))[0]!.allowed).toBe(2000)
    const others = await quota.admin.inspect({ user: 'bob', org: 'acme' })
    expect(['user-daily', 'org-daily'].map((policy) => others.find((row) => row.policy === policy)!.allowed)).toEqual([1000, 100_000])
    expect(await quota.admin.audit()).toHaveLength(1)
    expect(events).toHaveLength(1)
    expect(await quota.admin.reset({ ...target, idempotencyKey: 'r1' })).toEqual({ replayed: false })
    expect(await quota.admin.reset({ ...target, idempotencyKey: 'r1' })).toEqual({ replayed: true })
    expect(await quota.admin.clear({ ...target })).toEqual({ replayed: false })
  })

  it('a fractional `until` is validated once: rounded up to a whole millisecond, and seen by inspect as by the reserve path (issue 27 #14)', async () => {
    const { clock, quota } = setup()
    const until = clock.now() + hour + 0.5
    await quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 500, until })
    const [row] = await quota.admin.inspect({ user: 'alice' })
    expect(row).toMatchObject({ allowed: 1500, overrides: [{ kind: 'grant', amount: 500, until: Math.ceil(until) }] })
    expect((await quota.admin.audit())[0]!.until).toBe(Math.ceil(until))
  })

  it('refuses a fractional grant or allow on a policy counting whole tokens or requests, instead of rounding it (0.5 became +1)', async () => {
    const { quota } = setup()
    for (const attempt of [
      quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: 0.5 }),
      quota.admin.set({ policy: 'user-daily', context: { user: 'alice' }, allow: 1000.4 }),
    ]) {
      const error = await rejection(attempt)
      expect(QuotaInputError.isInstance(error) && [error.code, error.message]).toEqual([
        'InvalidAdminRequest',
        expect.stringContaining('whole number of tokens'),
      ])
    }
    expect(await quota.admin.audit()).toEqual([])
    expect((await quota.admin.inspect({ user: 'alice' }))[0]).toMatchObject({ allowed: 1000, overrides: [] })
    await quota.admin.grant({ policy: 'spend-daily', context: { user: 'alice' }, add: 0.5 })
    expect((await quota.admin.inspect({ user: 'alice' })).find((row) => row.policy === 'spend-daily')).toMatchObject({ allowed: 2.5 })
  })

  it('refuses a bad admin request with a typed error and changes nothing', async () => {
    const { clock, quota } = setup()
    const cases = [
      quota.admin.grant({ policy: 'nope', context: { user: 'alice' }, add: 1 }),
      quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: Number.NaN }),
      quota.admin.grant({ policy: 'user-daily', context: { user: 'alice' }, add: -5 }),
      quota.admin.set({ policy: 'user-daily', context: { user: 'alice' }, allow: 10, until: clock.now() - 1 }),
      quota.admin.set({ policy: 'plan-daily', class: 'gold', allow: 10 }),
      quota.admin.reset({ policy: 'user-daily', context: {} }),
    ]
    for (const attempt of cases) {
      const error = await rejection(attempt)
      expect(QuotaInputError.isInstance(error), String(error)).toBe(true)
    }
    expect(await quota.admin.audit()).toEqual([])
    expect((await quota.admin.inspect({ user: 'alice' }))[0]!.overrides).toEqual([])
  })
})
