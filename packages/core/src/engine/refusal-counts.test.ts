import { describe, expect, it } from 'vitest'
import { trackUsage } from '../reports/usage-reports.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import type { ExceededEvent } from './events.js'
import { TokenQuotaExceededError } from '../shared/errors.js'
import { MemoryStore } from '../store/memory-store.js'
import type { QuotaStore } from '../store/quota-store.js'
import { SyncedStore } from '../store/synced-store.js'
import { createFakeClock } from '../testing/fake-clock.js'
import { createTokenQuota } from './token-quota.js'

const alice = { user: 'alice' }
const capped: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 10_000, interval: 1, timeUnit: 'day', maxTokensPerRequest: 1000 }

function setup(store: QuotaStore = new MemoryStore(), clock = createFakeClock('2026-06-10T10:00:00Z')) {
  const exceeded: ExceededEvent[] = []
  const quota = createTokenQuota({ policies: [capped], store, now: clock.now, on: { exceeded: (event) => exceeded.push(event) } })
  const refused = (tokens: number) =>
    quota.reserve(alice, { estimate: tokens }).then(
      () => false,
      (error: unknown) => TokenQuotaExceededError.isInstance(error),
    )
  return { quota, clock, exceeded, refused }
}

describe('refusals of a per-request cap (maxTokensPerRequest)', () => {
  it('raise an `exceeded` event, leave a last refusal in inspect, count in status and in reports', async () => {
    const { quota, exceeded, refused, clock } = setup()
    const tracking = trackUsage(quota)
    expect(await refused(1500)).toBe(true)
    expect(exceeded.map((event) => [event.error.code, event.error.policy, event.context.user])).toEqual([['RequestTooLarge', 'user-daily', 'alice']])
    const [inspection] = await quota.admin.inspect(alice)
    expect(inspection!.lastRefusal).toMatchObject({ at: clock.now(), requested: 1500, limit: 1000 })
    expect(inspection!.refusals).toBe(1)
    expect((await quota.status(alice))[0]!.refusals).toBe(1)
    expect((await tracking.report()).thisMonth.refusals).toBe(1)
  })
})

describe('refusals in the current window (exceed count) in status() and inspect()', () => {
  it('counts every refusal of the window, per policy and identifier, and starts again with the next window', async () => {
    const { quota, clock, refused } = setup()
    await quota.reserve(alice, { estimate: 900 }) // held
    for (let index = 0; index < 10; index++) await quota.reserve(alice, { estimate: 900 })
    expect(await refused(900)).toBe(true) // over the day's limit: a store refusal
    expect(await refused(1200)).toBe(true) // over the cap
    expect((await quota.status(alice))[0]!.refusals).toBe(2)
    expect((await quota.admin.inspect(alice))[0]!.refusals).toBe(2)
    expect((await quota.status({ user: 'bob' }))[0]!.refusals).toBe(0)
    clock.advance(24 * 3_600_000)
    expect((await quota.status(alice))[0]!.refusals).toBe(0)
  })

  it('are kept in the store: every SyncedStore process on it sees the others’ refusals', async () => {
    const shared = new MemoryStore()
    const clock = createFakeClock('2026-06-10T10:00:00Z')
    const one = setup(new SyncedStore(shared, { syncIntervalMs: 3_600_000 }), clock)
    const two = setup(new SyncedStore(shared, { syncIntervalMs: 3_600_000 }), clock)
    for (let index = 0; index < 10; index++) await one.quota.reserve(alice, { estimate: 1000 })
    expect(await one.refused(1000)).toBe(true)
    expect(await two.refused(5000)).toBe(true)
    expect((await one.quota.status(alice))[0]!.refusals).toBe(2)
    expect((await two.quota.admin.inspect(alice))[0]!.refusals).toBe(2)
  })
})
