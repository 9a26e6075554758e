import { afterEach, describe, expect, it, vi } from 'vitest'
import { StoreUnavailableError, TokenQuotaExceededError } from '../shared/errors.js'
import type { StoreErrorEvent, WarningEvent } from './events.js'
import { MemoryStore } from '../store/memory-store.js'
import type { StoreCredits } from '../store/credit-protocol.js'
import type { QuotaStore } from '../store/quota-store.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from './token-quota.js'

/** A real MemoryStore behind a switch that makes every call fail, as a dropped connection would. */
class SwitchableStore implements QuotaStore {
  readonly inner = new MemoryStore()
  down = false
  #check() {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:6379')
  }
  async reserve(...args: Parameters<QuotaStore['reserve']>) {
    this.#check()
    return this.inner.reserve(...args)
  }
  async settle(...args: Parameters<QuotaStore['settle']>) {
    this.#check()
    return this.inner.settle(...args)
  }
  async extend(...args: Parameters<QuotaStore['extend']>) {
    this.#check()
    return this.inner.extend(...args)
  }
  async read(...args: Parameters<QuotaStore['read']>) {
    this.#check()
    return this.inner.read(...args)
  }
  readonly credits = {
    writeCredits: async (...args: Parameters<StoreCredits['writeCredits']>) => {
      this.#check()
      return this.inner.credits.writeCredits(...args)
    },
    readBalances: async (...args: Parameters<StoreCredits['readBalances']>) => {
      this.#check()
      return this.inner.credits.readBalances(...args)
    },
    readLedger: async (...args: Parameters<StoreCredits['readLedger']>) => {
      this.#check()
      return this.inner.credits.readLedger(...args)
    },
  }
}

const policies = [{ name: 'user-daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' as const }]

describe('store failures', () => {
  it('fails closed with StoreUnavailableError, never a quota refusal, and recovers when the store returns', async () => {
    const store = new SwitchableStore()
    const events: StoreErrorEvent[] = []
    const quota = createTokenQuota({ policies, store, now: createFakeClock().now, on: { storeError: (event) => events.push(event) } })
    store.down = true
    const error = await quota.reserve({ user: 'alice' }, { estimate: 10 }).catch((caught: unknown) => caught)
    expect(StoreUnavailableError.isInstance(error)).toBe(true)
    expect(TokenQuotaExceededError.isInstance(error)).toBe(false)
    expect(error).toMatchObject({ status: 503, cause: { message: 'connect ECONNREFUSED 127.0.0.1:6379' } })
    expect(events).toMatchObject([{ operation: 'reserve', failureMode: 'closed' }])
    await expect(quota.status({ user: 'alice' })).rejects.toSatisfy(StoreUnavailableError.isInstance)
    store.down = false
    await (await quota.reserve({ user: 'alice' }, { estimate: 10 })).commit()
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 10 }])
  })

  it('fails open onto a local limiter that still enforces the limits, and reports the outage', async () => {
    const store = new SwitchableStore()
    const events: StoreErrorEvent[] = []
    const quota = createTokenQuota({ policies, store, failureMode: 'open', now: createFakeClock().now, on: { storeError: (event) => events.push(event) } })
    store.down = true
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 100 })
    await expect(quota.reserve({ user: 'alice' }, { estimate: 1 })).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    await lease.commit({ total: 60 })
    expect(events.map((event) => event.failureMode)).toEqual(['open', 'open'])
    store.down = false
    await quota.reserve({ user: 'alice' }, { estimate: 100 })
  })

  it('fails closed for a credit balance even under failureMode open: a balance cannot be enforced without its store', async () => {
    const store = new SwitchableStore()
    const errors: StoreErrorEvent[] = []
    const warnings: WarningEvent[] = []
    const quota = createTokenQuota({
      policies: [
        { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' },
        { name: 'credits', type: 'balance', identifier: 'user' },
      ],
      store,
      failureMode: 'open',
      now: createFakeClock().now,
      on: { storeError: (event) => errors.push(event), warning: (event) => warnings.push(event) },
    })
    await quota.admin.topUp({ policy: 'credits', context: { user: 'alice' }, amount: 500, key: 'pay-1' })
    store.down = true
    for (const estimate of [10, 300]) {
      const error = await quota.reserve({ user: 'alice' }, { estimate }).catch((caught: unknown) => caught)
      expect(StoreUnavailableError.isInstance(error), String((error as Error).stack)).toBe(true)
      expect(TokenQuotaExceededError.isInstance(error)).toBe(false)
    }
    await expect(quota.status({ user: 'alice' })).rejects.toSatisfy(StoreUnavailableError.isInstance)
    expect(errors.map((event) => event.failureMode)).toEqual(['open', 'open', 'open'])
    expect(warnings).toMatchObject([{ code: 'CreditsNeedStore' }, { code: 'CreditsNeedStore' }, { code: 'CreditsNeedStore' }])
    store.down = false
    await (await quota.reserve({ user: 'alice' }, { estimate: 300 })).commit({ total: 150 })
    expect((await quota.admin.credits({ policy: 'credits', context: { user: 'alice' } })).balance).toBe(450)
  })

  it('under failureMode open, a quota whose request touches no balance keeps failing open next to a balance policy', async () => {
    const store = new SwitchableStore()
    const quota = createTokenQuota({
      policies: [
        { name: 'user-daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' },
        { name: 'credits', type: 'balance', identifier: 'user', models: ['gpt-4o'] },
      ],
      store,
      failureMode: 'open',
      now: createFakeClock().now,
    })
    store.down = true
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 100, model: 'gpt-4o-mini' })
    await expect(quota.reserve({ user: 'alice' }, { estimate: 1, model: 'gpt-4o-mini' })).rejects.toSatisfy(TokenQuotaExceededError.isInstance)
    await expect(quota.reserve({ user: 'alice' }, { estimate: 1, model: 'gpt-4o' })).rejects.toSatisfy(StoreUnavailableError.isInstance)
    await lease.commit({ total: 60 })
  })

  it('with commitMode await, keeps a lease pending when its commit cannot reach the store, so a retry charges it once', async () => {
    const store = new SwitchableStore()
    const quota = createTokenQuota({ policies, store, commitMode: 'await', now: createFakeClock().now })
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 50 })
    store.down = true
    await expect(lease.commit({ total: 40 })).rejects.toSatisfy(StoreUnavailableError.isInstance)
    expect(lease.state).toBe('pending')
    store.down = false
    await lease.commit({ total: 40 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 40, reserved: 0 }])
  })

  describe('commits in the background (the default)', () => {
    afterEach(() => {
      vi.useRealTimers()
    })

    it('resolves a commit at once, retries it while the store is down, and charges it once when the store is back', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout'] })
      const store = new SwitchableStore()
      const events: StoreErrorEvent[] = []
      const quota = createTokenQuota({ policies, store, now: createFakeClock().now, on: { storeError: (event) => events.push(event) } })
      const lease = await quota.reserve({ user: 'alice' }, { estimate: 50 })
      store.down = true
      await expect(lease.commit({ total: 40 })).resolves.toMatchObject({ charges: [{ policy: 'user-daily', amount: 40 }] })
      expect(lease.state).toBe('committed')
      await vi.advanceTimersByTimeAsync(100) // the first retry fails too
      expect(events.map((event) => event.operation)).toEqual(['settle', 'settle'])
      // Until the write lands the estimate stays held: 50 of 100 are taken, not 40.
      expect(
        (
          await store.inner.read({
            now: quota.now(),
            counters: [{ counter: 'user-daily', identifier: '=alice', window: quota.policies[0]!.window(quota.now()) }],
          })
        )[0],
      ).toMatchObject({ used: 0, reserved: 50 })
      store.down = false
      await vi.advanceTimersByTimeAsync(1000)
      await quota.flush()
      expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 40, reserved: 0 }])
    })

    it('gives a commit up after its retries with a ChargeLost warning; its hold is charged when the lease expires', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout'] })
      const store = new SwitchableStore()
      const clock = createFakeClock()
      const warnings: WarningEvent[] = []
      const quota = createTokenQuota({ policies, store, now: clock.now, leaseTtlMs: 60_000, on: { warning: (event) => warnings.push(event) } })
      const lease = await quota.reserve({ user: 'alice' }, { estimate: 50 })
      store.down = true
      await lease.commit({ total: 40 })
      const flushed = quota.flush()
      await vi.runAllTimersAsync()
      await flushed
      expect(warnings).toMatchObject([{ code: 'ChargeLost' }])
      store.down = false
      expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 0, reserved: 50 }])
      clock.advance(60_000)
      // The lost charge errs toward the quota: the estimate it held.
      expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 50, reserved: 0 }])
    })
  })
})
