import { describe, expect, it } from 'vitest'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { InsufficientCreditsError, QuotaConfigError, QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { createFakeClock } from '../testing/fake-clock.js'
import type { QuotaEventMap, QuotaEventName } from './events.js'
import { createTokenQuota, type TokenQuota } from './token-quota.js'
import { rateLimitHeaders } from '../plan/rate-limit-headers.js'

const hour = 3_600_000
const credits: QuotaPolicy = { name: 'credits', type: 'balance', identifier: 'user' }
const plan: QuotaPolicy = { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' }
const alice = { user: 'alice' }

function setup(policies: readonly QuotaPolicy[]) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const quota = createTokenQuota({ policies, now: clock.now })
  return { clock, quota }
}

/** Every event of these names, in order. */
function recorded<Name extends QuotaEventName>(quota: TokenQuota, ...names: Name[]): Array<{ name: Name; event: QuotaEventMap[Name] }> {
  const events: Array<{ name: Name; event: QuotaEventMap[Name] }> = []
  for (const name of names) quota.on(name, (event) => events.push({ name, event }))
  return events
}

async function refusalOf(promise: Promise<unknown>): Promise<TokenQuotaExceededError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  )
  if (!TokenQuotaExceededError.isInstance(error)) throw new Error(`expected TokenQuotaExceededError, got ${String(error)}`)
  return error
}

/** The ledger's invariant at the engine's level: Σ rows == balance == Σ grants, never below zero. */
async function expectLedgerSums(quota: TokenQuota, policy: string) {
  const balance = await quota.admin.credits({ policy, context: alice })
  const ledger = await quota.admin.ledger({ policy, context: alice, limit: 10_000 })
  let sum = 0
  for (const row of ledger) {
    sum += row.amount
    expect(row.balanceAfter).toBe(sum)
    expect(row.balanceAfter).toBeGreaterThanOrEqual(0)
  }
  expect(balance.balance).toBe(sum)
  expect(balance.grants.reduce((total, grant) => total + grant.remaining, 0)).toBe(sum)
  return { balance, ledger }
}

describe('credit balances (engine)', () => {
  it('admits exactly 60 of 70 concurrent reservations of 25 on a balance of 1,500; the balance ends at 0, never negative', async () => {
    const { quota } = setup([credits])
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 1500, key: 'pay-1' })
    const settled = await Promise.allSettled(Array.from({ length: 70 }, () => quota.reserve(alice, { estimate: 25 })))
    const leases = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
    expect(leases).toHaveLength(60)
    for (const result of settled)
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'CreditsExhausted', policy: 'credits', retryAfterMs: null })
    await Promise.all(leases.map((lease) => lease.commit({ input: 20, output: 5 })))
    const { balance, ledger } = await expectLedgerSums(quota, 'credits')
    expect(balance).toMatchObject({ balance: 0, reserved: 0, available: 0 })
    expect(ledger.filter((row) => row.kind === 'charge')).toHaveLength(60)
  })

  it('drains grant A (expires at T1) before B (no expiry); after T1 what was left of A is gone, with one creditsExpired', async () => {
    const { quota, clock } = setup([credits])
    const events = recorded(quota, 'creditsExpired')
    const t1 = clock.now() + 24 * hour
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 500, key: 'B' })
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 1000, key: 'A', expiresAt: new Date(t1) })
    const lease = await quota.reserve(alice, { estimate: 300 })
    await lease.commit({ input: 250, output: 50 })
    expect((await quota.admin.credits({ policy: 'credits', context: alice })).grants.map((grant) => [grant.key, grant.remaining])).toEqual([
      ['A', 700],
      ['B', 500],
    ])
    clock.set(t1)
    expect(await quota.status(alice)).toMatchObject([{ policy: 'credits', type: 'balance', allowed: 500, available: 500 }])
    expect(events).toEqual([{ name: 'creditsExpired', event: { policy: 'credits', identifier: 'alice', grant: 'A', amount: 700, at: t1 } }])
    await quota.admin.credits({ policy: 'credits', context: alice })
    expect(events).toHaveLength(1)
    const { ledger } = await expectLedgerSums(quota, 'credits')
    expect(ledger.map((row) => [row.kind, row.amount])).toEqual([
      ['topup', 500],
      ['topup', 1000],
      ['charge', -300],
      ['expiry', -700],
    ])
  })

  it('spills a plan allowance of 100 into 50 credits: 120 charges 100 + 20 (in the result and the usage event), then 40 is refused with 30 left', async () => {
    const { quota } = setup([plan, credits])
    const usage = recorded(quota, 'usage')
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 50, key: 'pack-1' })
    const lease = await quota.reserve(alice, { estimate: 120 })
    expect(lease.decisions).toMatchObject([
      { policy: 'plan', allowed: 100, reserved: 100, available: 0 },
      { policy: 'credits', type: 'balance', allowed: 50, reserved: 20, available: 30 },
    ])
    const result = await lease.commit({ input: 100, output: 20 })
    const charges = [
      { policy: 'plan', identifier: 'alice', amount: 100, unit: 'tokens' },
      { policy: 'credits', identifier: 'alice', amount: 20, unit: 'tokens' },
    ]
    expect(result.charges).toEqual(charges)
    expect(usage.map(({ event }) => event.charges)).toEqual([charges])
    const refused = await refusalOf(quota.reserve(alice, { estimate: 40 }))
    expect(refused).toMatchObject({ code: 'CreditsExhausted', policy: 'credits', remaining: 30, retryAfterMs: null })
    expect(refused.message).toMatch(/needs ~40 tokens, 30 left/)
    expect((await quota.reserve(alice, { estimate: 30 })).decisions[1]).toMatchObject({ available: 0 })
    await expectLedgerSums(quota, 'credits')
  })

  it('spills into credits on a store without an admin side too (the allowance alone is not "too large")', async () => {
    const inner = new MemoryStore()
    const store: QuotaStore = {
      reserve: (request) => inner.reserve(request),
      settle: (request) => inner.settle(request),
      extend: (request) => inner.extend(request),
      read: (request) => inner.read(request),
      credits: inner.credits,
    }
    const quota = createTokenQuota({ policies: [plan, credits], store, now: createFakeClock('2026-03-14T10:00:00Z').now })
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 50, key: 'pack-1' })
    const lease = await quota.reserve(alice, { estimate: 120 })
    expect((await lease.commit({ input: 120, output: 0 })).charges.map((charge) => [charge.policy, charge.amount])).toEqual([
      ['plan', 100],
      ['credits', 20],
    ])
    expect(await refusalOf(quota.reserve(alice, { estimate: 40 }))).toMatchObject({ code: 'CreditsExhausted' })
  })

  it('tells no reset time for a balance, which never resets by itself: no Retry-After nor reset header; explain() says top up', async () => {
    const { quota, clock } = setup([plan, credits])
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 50, key: 'pack-1' })
    await (await quota.reserve(alice, { estimate: 120 })).commit({ input: 120, output: 0 })
    const refused = await refusalOf(quota.reserve(alice, { estimate: 40 }))
    expect(refused.toHeaders(clock.now())).toEqual({ 'x-ratelimit-limit-tokens': '30', 'x-ratelimit-remaining-tokens': '30' })
    expect(refused.explain()).toMatch(/top-up/)
    expect(refused.explain()).not.toMatch(/retry in|\d+ ?(s|h|min|d)\b/)
    const status = await quota.status(alice)
    const headers = rateLimitHeaders(status, { now: clock.now() })
    expect(headers).toEqual({
      'x-ratelimit-limit-tokens': '100',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': expect.stringMatching(/^\d+s$/),
      'ratelimit-policy': expect.stringContaining('"credits";q=30;qu="tokens"'),
      ratelimit: expect.stringContaining('"credits";r=30'),
    })
    expect(headers.ratelimit).not.toMatch(/"credits";r=30;t=/)
    const onlyCredits = rateLimitHeaders(
      status.filter((decision) => decision.type === 'balance'),
      { now: clock.now() },
    )
    expect(onlyCredits).toEqual({
      'x-ratelimit-limit-tokens': '30',
      'x-ratelimit-remaining-tokens': '30',
      'ratelimit-policy': '"credits";q=30;qu="tokens"',
      ratelimit: '"credits";r=30',
    })
  })

  it('charges a balance nobody spills into on its own, next to a windowed policy', async () => {
    const daily: QuotaPolicy = { name: 'daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }
    const { quota } = setup([daily, credits])
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 200, key: 'k' })
    const lease = await quota.reserve(alice, { estimate: 150 })
    expect((await lease.commit({ input: 100, output: 20 })).charges.map((charge) => [charge.policy, charge.amount])).toEqual([
      ['daily', 120],
      ['credits', 120],
    ])
    expect(await quota.admin.credits({ policy: 'credits', context: alice })).toMatchObject({ balance: 80 })
  })

  it('charges the hold of a lease that expires unsettled from the credits; its late commit refunds the difference, once', async () => {
    const { quota, clock } = setup([credits])
    const expired = recorded(quota, 'leaseExpired')
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 100, key: 'k' })
    const lease = await quota.reserve(alice, { estimate: 60, leaseTtlMs: 1000 })
    clock.advance(1000)
    expect(await quota.status(alice)).toMatchObject([{ policy: 'credits', allowed: 40, reserved: 0 }])
    expect(expired.map(({ event }) => [event.outcome, event.holds])).toEqual([['charged', [{ policy: 'credits', identifier: 'alice', amount: 60 }]]])
    await lease.commit({ input: 25, output: 0 })
    const { balance, ledger } = await expectLedgerSums(quota, 'credits')
    expect(balance.balance).toBe(75)
    expect(ledger.map((row) => [row.kind, row.amount, row.leaseId])).toEqual([
      ['topup', 100, undefined],
      ['charge', -60, lease.id],
      ['refund', 35, lease.id],
    ])
  })

  it('tells creditsUnpaid, once, when a lease expires unsettled and its expiry charge is more than the grants hold', async () => {
    const { quota, clock } = setup([credits])
    const events = recorded(quota, 'creditsUnpaid', 'creditsExpired')
    const expiresAt = clock.now() + 500
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 100, key: 'k', expiresAt })
    const lease = await quota.reserve(alice, { estimate: 60, leaseTtlMs: 1000 })
    clock.advance(1000) // the grant expired at 500 with 100 left; the hold of 60 is charged with nothing to pay it
    await quota.status(alice)
    await quota.status(alice)
    await quota.flush()
    const { ledger } = await expectLedgerSums(quota, 'credits')
    expect(ledger.find((row) => row.kind === 'charge')).toMatchObject({ leaseId: lease.id, amount: 0, unpaid: 60 })
    expect(events).toEqual([
      { name: 'creditsExpired', event: { policy: 'credits', identifier: 'alice', grant: 'k', amount: 100, at: expiresAt } },
      { name: 'creditsUnpaid', event: { policy: 'credits', identifier: 'alice', leaseId: lease.id, amount: 60 } },
    ])
  })

  it('credits a top-up key sent 3 times once, and says so each time', async () => {
    const { quota } = setup([credits])
    const events = recorded(quota, 'creditsToppedUp')
    const sent = []
    for (let attempt = 0; attempt < 3; attempt += 1) sent.push(await quota.admin.topUp({ policy: 'credits', context: alice, amount: 1000, key: 'evt_42' }))
    expect(sent.map((result) => [result.applied, result.balance.balance])).toEqual([
      [true, 1000],
      [false, 1000],
      [false, 1000],
    ])
    expect(events.map(({ event }) => event.applied)).toEqual([true, false, false])
    const { ledger } = await expectLedgerSums(quota, 'credits')
    expect(ledger).toHaveLength(1)
    await expect(quota.admin.topUp({ policy: 'credits', context: alice, amount: 999, key: 'evt_42' })).rejects.toMatchObject({
      code: 'IdempotencyKeyReused',
      policy: 'credits',
    })
  })

  it('warns when a charge takes the balance to its lowAt, once, and when usage beyond the hold goes unpaid', async () => {
    const { quota } = setup([{ ...credits, lowAt: 100 }])
    const events = recorded(quota, 'creditsLow', 'creditsUnpaid')
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 300, key: 'k' })
    await (await quota.reserve(alice, { estimate: 150 })).commit({ input: 150, output: 0 }) // 150 left
    expect(events).toEqual([])
    await (await quota.reserve(alice, { estimate: 60 })).commit({ input: 60, output: 0 }) // 90: crosses 100
    await (await quota.reserve(alice, { estimate: 10 })).commit({ input: 10, output: 0 }) // 80: below already
    const last = await quota.reserve(alice, { estimate: 80 })
    await last.commit({ input: 100, output: 0 }) // the call used 20 more than the balance has
    expect(events).toEqual([
      { name: 'creditsLow', event: { policy: 'credits', identifier: 'alice', balance: 90, level: 100 } },
      { name: 'creditsUnpaid', event: { policy: 'credits', identifier: 'alice', leaseId: last.id, amount: 20 } },
    ])
    expect(await quota.admin.credits({ policy: 'credits', context: alice })).toMatchObject({ balance: 0 })
    await expectLedgerSums(quota, 'credits')
  })

  it('refuses a reservation without an estimate on a balance, alone or through a spill, and holds nothing', async () => {
    for (const policies of [[credits], [plan, credits]]) {
      const { quota } = setup(policies)
      await quota.admin.topUp({ policy: 'credits', context: alice, amount: 100, key: 'k' })
      await expect(quota.reserve(alice)).rejects.toSatisfy(
        (error: unknown) => QuotaInputError.isInstance(error) && error.code === 'InvalidEstimate' && error.policy === 'credits',
      )
      expect(await quota.admin.credits({ policy: 'credits', context: alice })).toMatchObject({ reserved: 0 })
    }
  })

  it('refuses at construction a balance policy on a store that cannot hold credits', () => {
    const memory = new MemoryStore()
    const store: QuotaStore = {
      reserve: (request) => memory.reserve(request),
      settle: (request) => memory.settle(request),
      extend: (request) => memory.extend(request),
      read: (request) => memory.read(request),
    }
    let error: unknown
    try {
      createTokenQuota({ policies: [credits], store })
    } catch (caught) {
      error = caught
    }
    expect(QuotaConfigError.isInstance(error) && error.policy).toBe('credits')
    expect(() => createTokenQuota({ policies: [{ name: 'daily', identifier: 'user', allow: 1, interval: 1, timeUnit: 'day' }], store })).not.toThrow()
  })

  it('keeps dollar balances in dollars: top-ups, charges and the ledger', async () => {
    const { quota } = setup([{ name: 'wallet', type: 'balance', identifier: 'user', count: 'usd', unpriced: { usdPerMillion: 10 } }])
    await quota.admin.topUp({ policy: 'wallet', context: alice, amount: 5, key: 'stripe_1' })
    const lease = await quota.reserve(alice, { estimate: 100_000, model: 'in-house' })
    await lease.commit({ input: 50_000, output: 0 })
    const { balance, ledger } = await expectLedgerSums(quota, 'wallet')
    expect(balance).toMatchObject({ balance: 4.5, unit: 'usd' })
    expect(ledger.map((row) => [row.kind, row.amount])).toEqual([
      ['topup', 5],
      ['charge', -0.5],
    ])
  })

  it('refuses a dollar amount finer than the counter holds (1e-8) instead of rounding it, and takes decimal dollars as typed', async () => {
    const { quota } = setup([{ name: 'wallet', type: 'balance', identifier: 'user', count: 'usd', unpriced: { usdPerMillion: 10 } }])
    for (const amount of [0.000000015, 12.345678901])
      await expect(quota.admin.topUp({ policy: 'wallet', context: alice, amount, key: `fine-${amount}` })).rejects.toMatchObject({
        code: 'InvalidAdminRequest',
        message: expect.stringContaining('0.00000001'),
      })
    await quota.admin.topUp({ policy: 'wallet', context: alice, amount: 19.99, key: 'pack' })
    await quota.admin.correctCredits({ policy: 'wallet', context: alice, amount: -0.1, key: 'fix' })
    expect(await quota.admin.credits({ policy: 'wallet', context: alice })).toMatchObject({ balance: 19.89 })
    expect((await quota.admin.ledger({ policy: 'wallet', context: alice })).map((row) => [row.kind, row.amount])).toEqual([
      ['topup', 19.99],
      ['correction', -0.1],
    ])
  })

  it('refuses a top-up of zero or less, and a correction of zero, in the unit the caller typed, not in counter units', async () => {
    const { quota } = setup([{ name: 'wallet', type: 'balance', identifier: 'user', count: 'usd', unpriced: { usdPerMillion: 10 } }])
    for (const amount of [-1, 0])
      await expect(quota.admin.topUp({ policy: 'wallet', context: alice, amount, key: `neg-${amount}` })).rejects.toMatchObject({
        code: 'InvalidAdminRequest',
        message: `policy "wallet": expected a top-up's \`amount\` to be positive, got ${amount} usd`,
      })
    await expect(quota.admin.correctCredits({ policy: 'wallet', context: alice, amount: 0, key: 'zero' })).rejects.toMatchObject({
      code: 'InvalidAdminRequest',
      message: 'policy "wallet": expected a correction\'s `amount` to be non-zero, got 0 usd',
    })
    expect(await quota.admin.ledger({ policy: 'wallet', context: alice })).toEqual([])
  })

  it("refuses a correction larger than the balance in the policy's unit (tokens), naming the policy", async () => {
    const { quota } = setup([credits])
    await quota.admin.topUp({ policy: 'credits', context: alice, amount: 85, key: 'pack' })
    const refused = quota.admin.correctCredits({ policy: 'credits', context: alice, amount: -86, key: 'fix' })
    await expect(refused).rejects.toSatisfy(InsufficientCreditsError.isInstance)
    await expect(refused).rejects.toMatchObject({
      policy: 'credits',
      requested: 86,
      balance: 85,
      unit: 'tokens',
      message: 'policy "credits": a correction of -86 tokens needs a balance of at least 86 tokens, the balance is 85 tokens: nothing changed',
    })
  })

  it('names a top-up amount typed as text as text ("5"), not as the number it looks like', async () => {
    const { quota } = setup([credits])
    await expect(quota.admin.topUp({ policy: 'credits', context: alice, amount: '5' as unknown as number, key: 'text' })).rejects.toMatchObject({
      code: 'InvalidAdminRequest',
      message: 'policy "credits": expected `amount` to be a number, got "5" (a string)',
    })
  })

  it('refuses bad admin input with a typed error and writes nothing', async () => {
    const { quota } = setup([credits])
    const bad = [
      quota.admin.topUp({ policy: 'credits', context: alice, amount: 1.5, key: 'a' }),
      quota.admin.topUp({ policy: 'credits', context: alice, amount: 10, key: '' }),
      quota.admin.topUp({ policy: 'credits', context: alice, amount: -1, key: 'b' }),
      quota.admin.topUp({ policy: 'nope', context: alice, amount: 1, key: 'c' }),
      quota.admin.correctCredits({ policy: 'credits', context: alice, amount: -1, key: 'd' }),
    ]
    const codes = await Promise.all(
      bad.map((promise) =>
        promise.then(
          () => 'ok',
          (error: QuotaInputError) => error.code,
        ),
      ),
    )
    expect(codes).toEqual(['InvalidAdminRequest', 'InvalidAdminRequest', 'InvalidAdminRequest', 'InvalidAdminRequest', 'InsufficientCredits'])
    expect(await quota.admin.ledger({ policy: 'credits', context: alice })).toEqual([])
  })
})
