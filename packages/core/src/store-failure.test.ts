import { describe, expect, it } from 'vitest'
import { StoreUnavailableError, TokenQuotaExceededError } from './errors.js'
import type { StoreErrorEvent } from './events.js'
import { MemoryStore } from './stores/memory-store.js'
import type { QuotaStore } from './stores/quota-store.js'
import { createFakeClock } from './testing/fake-clock.js'
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
  async read(...args: Parameters<QuotaStore['read']>) {
    this.#check()
    return this.inner.read(...args)
  }
}

const policies = [{ name: 'user-daily', identifier: 'user', allow: 100, interval: 1, timeUnit: 'day' as const }]

describe('store failures', () => {
  it("fails closed with StoreUnavailableError, never a quota refusal, and recovers when the store returns", async () => {
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

  it('keeps a lease pending when its commit cannot reach the store, so a retry charges it once', async () => {
    const store = new SwitchableStore()
    const quota = createTokenQuota({ policies, store, now: createFakeClock().now })
    const lease = await quota.reserve({ user: 'alice' }, { estimate: 50 })
    store.down = true
    await expect(lease.commit({ total: 40 })).rejects.toSatisfy(StoreUnavailableError.isInstance)
    expect(lease.state).toBe('pending')
    store.down = false
    await lease.commit({ total: 40 })
    expect(await quota.status({ user: 'alice' })).toMatchObject([{ used: 40, reserved: 0 }])
  })
})
