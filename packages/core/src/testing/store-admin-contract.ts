import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CounterRequest, QuotaStore, ReserveResult, WindowSpec } from '../store/quota-store.js'
import type { StoreAdmin } from '../store/store-admin.js'
import type { StoreContractOptions } from './store-contract.js'

const minute = 60_000
const t0 = Date.UTC(2026, 0, 1)
const fixed: WindowSpec = { kind: 'fixed', start: t0, end: t0 + minute }

let leases = 0

function counter(overrides: Partial<CounterRequest> = {}): CounterRequest {
  return { counter: 'policy', identifier: '=alice', window: fixed, limit: 100, amount: 10, hold: true, ...overrides }
}

/**
 * The operator side every store of this package has (`QuotaStore.admin`): overrides that every
 * reservation applies, usage resets, last refusals, the audit log.
 */
export function describeStoreAdminContract(name: string, options: StoreContractOptions): void {
  describe(`${name} (StoreAdmin contract)`, () => {
    let store: QuotaStore
    let admin: StoreAdmin

    beforeEach(async () => {
      store = await options.createStore()
      if (!store.admin) throw new Error(`${name} has no admin`)
      admin = store.admin
    })
    afterEach(async () => {
      await options.disposeStore?.(store)
    })

    const reserve = async (now: number, request: CounterRequest): Promise<ReserveResult> =>
      store.reserve({ leaseId: `admin-lease-${++leases}`, now, expiresAt: now + minute, counters: [request] })

    it('an allow override replaces the limit of one identifier only, and says so in the snapshot', async () => {
      await admin.writeOverride({ counter: 'policy', identifier: '=alice', now: t0, kind: 'allow', amount: 300 })
      const admitted = await reserve(t0, counter({ amount: 250 }))
      expect(admitted.ok && admitted.snapshots[0]).toMatchObject({ reserved: 250, limit: 300 })
      expect((await reserve(t0, counter({ identifier: '=bob', amount: 250 }))).ok).toBe(false)
      const refused = await reserve(t0, counter({ amount: 60 }))
      expect(refused.ok ? undefined : refused.refusals[0]!.snapshot).toMatchObject({ used: 0, reserved: 250, limit: 300 })
    })

    it("a family's override applies to every identifier, and an identifier's own allow wins over it", async () => {
      await admin.writeOverride({ counter: 'policy', identifier: '', now: t0, kind: 'allow', amount: 20 })
      await admin.writeOverride({ counter: 'policy', identifier: '=alice', now: t0, kind: 'allow', amount: 50 })
      expect((await reserve(t0, counter({ identifier: '=bob', amount: 30 }))).ok).toBe(false)
      expect((await reserve(t0, counter({ amount: 40 }))).ok).toBe(true)
    })

    it('grants add to the limit and to each other, and end by themselves at the later end', async () => {
      expect(await admin.writeOverride({ counter: 'policy', identifier: '=alice', now: t0, kind: 'grant', amount: 50, until: t0 + 10_000 })).toEqual({
        amount: 50,
        until: t0 + 10_000,
      })
      expect(await admin.writeOverride({ counter: 'policy', identifier: '=alice', now: t0 + 1, kind: 'grant', amount: 25, until: t0 + 20_000 })).toEqual({
        amount: 75,
        until: t0 + 20_000,
      })
      expect((await reserve(t0 + 2, counter({ amount: 170 }))).ok).toBe(true)
      const [state] = await admin.readAdmin({ now: t0 + 3, counters: [counter()] })
      expect(state!.overrides.grant).toEqual({ amount: 75, until: t0 + 20_000 })
      // Past its end the grant is gone: the policy's 100 holds again (170 already reserved).
      const late = await reserve(t0 + 20_000, counter({ amount: 1 }))
      expect(late.ok ? undefined : late.refusals[0]!.snapshot.limit).toBeUndefined()
      expect((await admin.readAdmin({ now: t0 + 20_000, counters: [counter()] }))[0]!.overrides.grant).toBeUndefined()
    })

    it('removing an override restores the policy limit', async () => {
      await admin.writeOverride({ counter: 'policy', identifier: '=alice', now: t0, kind: 'allow', amount: 0 })
      expect((await reserve(t0, counter({ amount: 1 }))).ok).toBe(false)
      expect(await admin.writeOverride({ counter: 'policy', identifier: '=alice', now: t0, kind: 'allow', amount: null })).toBeUndefined()
      expect((await reserve(t0, counter({ amount: 1 }))).ok).toBe(true)
    })

    it('remembers the last refusal of a counter: when, how much, against which limit and load', async () => {
      await reserve(t0, counter({ amount: 90 }))
      await reserve(t0 + 5, counter({ amount: 20 }))
      const [state, other] = await admin.readAdmin({ now: t0 + 6, counters: [counter(), counter({ identifier: '=bob' })] })
      expect(state!.lastRefusal).toEqual({ at: t0 + 5, requested: 20, limit: 100, used: 0, reserved: 90 })
      expect(other!.lastRefusal).toBeUndefined()
    })

    it("resets a counter's usage in its window (fixed, flexi and rolling) and keeps what is reserved", async () => {
      const windows: WindowSpec[] = [fixed, { kind: 'flexi', endIfStartedNow: t0 + minute }, { kind: 'rolling', length: minute, bucket: 1000 }]
      for (const [index, window] of windows.entries()) {
        const ref = counter({ counter: `reset-${index}`, window })
        const held = await reserve(t0, ref)
        if (!held.ok) throw new Error('expected a reservation')
        await store.settle({
          leaseId: `admin-lease-${leases}`,
          hold: held.hold,
          now: t0 + 1,
          expiresAt: t0 + minute,
          charges: [{ ...ref, placement: held.placements[0]!, held: 10, amount: 60 }],
        })
        await reserve(t0 + 2, counter({ counter: `reset-${index}`, window, amount: 30 }))
        await admin.resetUsage({ now: t0 + 3, counters: [ref] })
        expect(await store.read({ now: t0 + 4, counters: [ref] })).toMatchObject([{ used: 0, reserved: 30 }])
        expect((await reserve(t0 + 5, counter({ counter: `reset-${index}`, window, amount: 70 }))).ok).toBe(true)
      }
    })

    it('keeps an audit log, newest first', async () => {
      await admin.appendAudit({ at: t0, by: 'ops', action: 'grant', policy: 'policy', identifier: 'alice', amount: 5 })
      await admin.appendAudit({ at: t0 + 1, by: 'ops', action: 'reset', policy: 'policy', identifier: 'alice' })
      expect((await admin.readAudit(10)).map((entry) => entry.action)).toEqual(['reset', 'grant'])
      expect(await admin.readAudit(1)).toHaveLength(1)
    })
  })
}
