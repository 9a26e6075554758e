import fc from 'fast-check'
import { expect } from 'vitest'
import { TokenQuotaExceededError } from './errors.js'
import type { QuotaLease } from './lease.js'
import type { QuotaPolicy } from './policy-types.js'
import { createFakeClock } from './testing/fake-clock.js'
import type { QuotaStore } from './stores/quota-store.js'
import { createTokenQuota } from './token-quota.js'

/**
 * Random sequences of reserve / commit / release / clock moves, run against the engine (on a given
 * store) and against a small reference model that keeps every event and recomputes windows from
 * scratch. Shared by the MemoryStore and Redis store tests: the same windows on every store.
 */

const minute = 60_000
const hour = 60 * minute
const day = 24 * hour
const leaseTtlMs = 10 * minute
const users = ['alice', 'bob'] as const

const policies: QuotaPolicy[] = [
  { name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' },
  { name: 'org-rolling-hour', type: 'rollingwindow', allow: 1500, interval: 1, timeUnit: 'hour' },
  { name: 'user-flexi', type: 'flexi', identifier: 'user', allow: 700, interval: 30, timeUnit: 'minute' },
]

type Operation =
  | { kind: 'reserve'; user: (typeof users)[number]; estimate: number }
  | { kind: 'commit'; lease: number; fraction: number }
  | { kind: 'release'; lease: number }
  | { kind: 'advance'; ms: number }

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reserve' as const), user: fc.constantFrom(...users), estimate: fc.integer({ min: 0, max: 450 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('commit' as const), lease: fc.nat(40), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), lease: fc.nat(40) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // Exact window, bucket and TTL lengths hit the boundaries, where off-by-one errors live.
      ms: fc.oneof(fc.constantFrom(1, minute - 1, minute, leaseTtlMs - 1, leaseTtlMs, 30 * minute - 1, 30 * minute, hour, hour + minute - 1, hour + minute, day), fc.integer({ min: 0, max: 20 * minute }), fc.integer({ min: 0, max: 2 * day })),
    }),
  },
)

interface ModelLease {
  readonly user: string
  readonly amount: number
  readonly at: number
  readonly flexiStart: number
  state: 'pending' | 'committed' | 'released'
}

interface ModelCharge {
  readonly user: string
  readonly amount: number
  readonly at: number
  readonly flexiStart: number
}

class ReferenceModel {
  readonly leases: ModelLease[] = []
  readonly charges: ModelCharge[] = []
  readonly flexiStart = new Map<string, number>()

  held(now: number, include: (lease: ModelLease) => boolean): number {
    return this.leases.filter((lease) => lease.state === 'pending' && lease.at + leaseTtlMs > now && include(lease)).reduce((sum, lease) => sum + lease.amount, 0)
  }

  used(include: (charge: ModelCharge) => boolean): number {
    return this.charges.filter(include).reduce((sum, charge) => sum + charge.amount, 0)
  }

  counters(now: number, user: string) {
    const dayStart = Math.floor(now / day) * day
    const inDay = (entry: { user: string; at: number }) => entry.user === user && entry.at >= dayStart && entry.at < dayStart + day
    // Rolling buckets are 1 minute: a bucket counts while its end is inside the last hour.
    const inHour = (entry: { at: number }) => Math.floor(entry.at / minute) * minute + minute > now - hour
    const start = this.flexiStart.get(user)
    const open = start !== undefined && start + 30 * minute > now
    const inFlexi = (entry: { user: string; flexiStart: number }) => open && entry.user === user && entry.flexiStart === start
    return [
      { used: this.used(inDay), reserved: this.held(now, inDay) },
      { used: this.used(inHour), reserved: this.held(now, inHour) },
      { used: this.used(inFlexi), reserved: this.held(now, inFlexi) },
    ]
  }

  reserve(now: number, user: string, amount: number): boolean {
    const limits = [1000, 1500, 700]
    const fits = this.counters(now, user).every((counter, index) => counter.used + counter.reserved + amount <= limits[index]!)
    if (!fits) return false
    const start = this.flexiStart.get(user)
    const flexiStart = start !== undefined && start + 30 * minute > now ? start : now
    this.flexiStart.set(user, flexiStart)
    this.leases.push({ user, amount, at: now, flexiStart, state: 'pending' })
    return true
  }

  settle(index: number, amount: number | undefined): void {
    const lease = this.leases[index]!
    lease.state = amount === undefined ? 'released' : 'committed'
    if (amount !== undefined) this.charges.push({ user: lease.user, amount, at: lease.at, flexiStart: lease.flexiStart })
  }
}

/** Asserts that the engine on stores from `createStore` admits, refuses and reports exactly like the model. */
export async function checkAgainstReferenceModel(createStore: () => QuotaStore, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 60 }), fc.integer({ min: 0, max: 365 * 24 * 60 }), async (operations, offsetMinutes) => {
      const clock = createFakeClock(Date.UTC(2026, 0, 1) + offsetMinutes * minute)
      const quota = createTokenQuota({ policies, now: clock.now, leaseTtlMs, store: createStore() })
      const model = new ReferenceModel()
      const leases: QuotaLease[] = []

      for (const step of operations) {
        const now = clock.now()
        if (step.kind === 'advance') {
          clock.advance(step.ms)
        } else if (step.kind === 'reserve') {
          const expected = model.reserve(now, step.user, step.estimate)
          const outcome = await quota.reserve({ user: step.user }, { estimate: step.estimate }).then(
            (lease) => lease,
            (error: unknown) => {
              if (!TokenQuotaExceededError.isInstance(error)) throw error
              return undefined
            },
          )
          expect(outcome !== undefined).toBe(expected)
          if (outcome) leases.push(outcome)
        } else if (leases.length > 0) {
          const index = step.lease % leases.length
          const lease = leases[index]!
          if (lease.state !== 'pending') continue
          if (step.kind === 'release') {
            await lease.release()
            model.settle(index, undefined)
          } else {
            const total = Math.floor(model.leases[index]!.amount * step.fraction)
            await lease.commit({ total })
            model.settle(index, total)
          }
        }

        for (const user of users) {
          const status = await quota.status({ user })
          const expected = model.counters(clock.now(), user)
          expect(status.map(({ used, reserved }) => ({ used, reserved }))).toEqual(expected)
          for (const entry of status) expect(entry.used).toBeLessThanOrEqual(entry.allowed)
        }
      }
    }),
    { numRuns },
  )
}
