import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CounterRequest, QuotaStore, ReserveResult, WindowSpec } from '../store/quota-store.js'
import { type AuditEntry, maxGrants, type OverrideChange, type StoreAdmin } from '../store/store-admin.js'
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
    const audit = (action: AuditEntry['action'], at = t0): AuditEntry => ({ at, by: 'ops', action, policy: 'policy', identifier: 'alice' })
    let steps = 0
    /** One admin change, with a fresh idempotency key unless given one. */
    const write = (identifier: string, change: OverrideChange, now = t0, key = `step-${++steps}`) =>
      admin.writeOverride({ counter: 'policy', identifier, now, key, audit: audit(change.kind === 'clear' ? 'clear' : change.kind, now), change })

    it('an allow override replaces the limit of one identifier only, and says so in the snapshot', async () => {
      await write('=alice', { kind: 'allow', amount: 300 })
      const admitted = await reserve(t0, counter({ amount: 250 }))
      expect(admitted.ok && admitted.snapshots[0]).toMatchObject({ reserved: 250, limit: 300 })
      expect((await reserve(t0, counter({ identifier: '=bob', amount: 250 }))).ok).toBe(false)
      const refused = await reserve(t0, counter({ amount: 60 }))
      expect(refused.ok ? undefined : refused.refusals[0]!.snapshot).toMatchObject({ used: 0, reserved: 250, limit: 300 })
    })

    it('a read given the policy limit answers the limit in force, as a reservation does', async () => {
      await write('=alice', { kind: 'grant', amount: 50 })
      await write('', { kind: 'allow', amount: 200 })
      const [alice, bob, plain] = await store.read({ now: t0, counters: [counter(), counter({ identifier: '=bob' }), counter({ counter: 'other' })] })
      expect([alice!.limit, bob!.limit, plain!.limit]).toEqual([250, 200, undefined])
    })

    it("a family's override applies to every identifier, and an identifier's own allow wins over it", async () => {
      await write('', { kind: 'allow', amount: 20 })
      await write('=alice', { kind: 'allow', amount: 50 })
      expect((await reserve(t0, counter({ identifier: '=bob', amount: 30 }))).ok).toBe(false)
      expect((await reserve(t0, counter({ amount: 40 }))).ok).toBe(true)
    })

    it("a shared counter's (identifier '') overrides are its family's: counted once", async () => {
      await write('', { kind: 'allow', amount: 200 })
      await write('', { kind: 'grant', amount: 50 })
      const [state] = await admin.readAdmin({ now: t0, counters: [counter({ identifier: '' })] })
      expect(state!.overrides).toMatchObject({ allow: { amount: 200 }, grants: [{ amount: 50 }] })
      expect(state!.overrides.familyAllow).toBeUndefined()
      expect(state!.overrides.familyGrants ?? []).toEqual([])
      expect((await reserve(t0, counter({ identifier: '', amount: 251 }))).ok).toBe(false)
      const admitted = await reserve(t0, counter({ identifier: '', amount: 250 }))
      expect(admitted.ok && admitted.snapshots[0]!.limit).toBe(250)
      expect((await store.read({ now: t0, counters: [counter({ identifier: '' })] }))[0]!.limit).toBe(250)
    })

    it('each grant keeps its own amount and end; grants in force add up', async () => {
      const first = await write('=alice', { kind: 'grant', amount: 50, until: t0 + 10_000 })
      expect(first).toEqual({ applied: true, overrides: { grants: [{ amount: 50, until: t0 + 10_000 }] } })
      const second = await write('=alice', { kind: 'grant', amount: 25, until: t0 + 20_000 }, t0 + 1)
      expect(second.overrides.grants).toEqual([
        { amount: 50, until: t0 + 10_000 },
        { amount: 25, until: t0 + 20_000 },
      ])
      await write('=alice', { kind: 'grant', amount: 5 }, t0 + 1)
      expect((await reserve(t0 + 2, counter({ amount: 180 }))).ok).toBe(true)
      // The first ends by itself; the others stay, each as it was.
      const [state] = await admin.readAdmin({ now: t0 + 10_000, counters: [counter()] })
      expect(state!.overrides.grants).toEqual([{ amount: 25, until: t0 + 20_000 }, { amount: 5 }])
      const late = await reserve(t0 + 10_000, counter({ amount: 1 }))
      expect(late.ok ? undefined : late.refusals[0]!.snapshot.limit).toBe(130)
      expect((await admin.readAdmin({ now: t0 + 20_000, counters: [counter()] }))[0]!.overrides.grants).toEqual([{ amount: 5 }])
    })

    it('clear removes the allow and every grant, restoring the policy limit', async () => {
      await write('=alice', { kind: 'allow', amount: 0 })
      await write('=alice', { kind: 'grant', amount: 5 })
      expect((await reserve(t0, counter({ amount: 6 }))).ok).toBe(false)
      expect(await write('=alice', { kind: 'clear' })).toEqual({ applied: true, overrides: { grants: [] } })
      expect((await reserve(t0, counter({ amount: 100 }))).ok).toBe(true)
    })

    it('records each change with its audit entry, and applies a step once per idempotency key', async () => {
      await write('=alice', { kind: 'grant', amount: 50 }, t0, 'ticket-1')
      const again = await write('=alice', { kind: 'grant', amount: 50 }, t0 + 5, 'ticket-1')
      expect(again).toEqual({ applied: false, overrides: { grants: [{ amount: 50 }] } })
      expect((await reserve(t0 + 6, counter({ amount: 151 }))).ok).toBe(false)
      const reset = { now: t0 + 7, counters: [counter()], key: 'ticket-2', audit: audit('reset', t0 + 7) }
      expect(await admin.resetUsage(reset)).toEqual({ applied: true })
      expect(await admin.resetUsage({ ...reset, now: t0 + 8 })).toEqual({ applied: false })
      expect((await admin.readAudit(10)).map((entry) => [entry.action, entry.at])).toEqual([
        ['reset', t0 + 7],
        ['grant', t0],
      ])
      expect(await admin.readAudit(1)).toHaveLength(1)
    })

    it('refuses an idempotency key reused for a different change (IdempotencyKeyReused) and changes nothing; a replay of the same change is not applied again', async () => {
      await write('=alice', { kind: 'grant', amount: 50, until: t0 + 10_000 }, t0, 'ticket-7')
      // Who and why are not the change: the same change under another reason is a replay.
      const replay = await admin.writeOverride({
        counter: 'policy',
        identifier: '=alice',
        now: t0 + 1,
        key: 'ticket-7',
        audit: { ...audit('grant', t0 + 1), by: 'someone-else', reason: 'retry' },
        change: { kind: 'grant', amount: 50, until: t0 + 10_000 },
      })
      expect(replay).toEqual({ applied: false, overrides: { grants: [{ amount: 50, until: t0 + 10_000 }] } })
      const others: [string, OverrideChange][] = [
        ['=alice', { kind: 'grant', amount: 7, until: t0 + 10_000 }],
        ['=alice', { kind: 'grant', amount: 50, until: t0 + 20_000 }],
        ['=alice', { kind: 'grant', amount: 50 }],
        ['=alice', { kind: 'allow', amount: 50, until: t0 + 10_000 }],
        ['=alice', { kind: 'clear' }],
        ['=bob', { kind: 'grant', amount: 50, until: t0 + 10_000 }],
        ['', { kind: 'grant', amount: 50, until: t0 + 10_000 }],
      ]
      for (const [identifier, change] of others)
        expect(await rejectionOf(async () => write(identifier, change, t0 + 2, 'ticket-7')), JSON.stringify([identifier, change])).toMatchObject({
          name: 'QuotaInputError',
          code: 'IdempotencyKeyReused',
        })
      const otherCounter = { ...counter(), counter: 'other' }
      const writeOther = () =>
        admin.writeOverride({
          counter: 'other',
          identifier: '=alice',
          now: t0 + 2,
          key: 'ticket-7',
          audit: audit('grant'),
          change: { kind: 'grant', amount: 50, until: t0 + 10_000 },
        })
      expect(await rejectionOf(async () => writeOther())).toMatchObject({ code: 'IdempotencyKeyReused' })
      const reset = { now: t0 + 3, counters: [counter()], key: 'ticket-7', audit: audit('reset', t0 + 3) }
      expect(await rejectionOf(async () => admin.resetUsage(reset))).toMatchObject({ code: 'IdempotencyKeyReused' })
      const [alice, bob, family, other] = await admin.readAdmin({
        now: t0 + 4,
        counters: [counter(), counter({ identifier: '=bob' }), counter({ identifier: '' }), otherCounter],
      })
      expect(alice!.overrides).toMatchObject({ grants: [{ amount: 50, until: t0 + 10_000 }] })
      expect(alice!.overrides.allow).toBeUndefined()
      for (const state of [bob, family, other]) expect(state!.overrides.grants ?? []).toEqual([])
      expect(await admin.readAudit(10)).toHaveLength(1)

      // A reset's key is held to its counters the same way.
      await reserve(t0 + 5, counter({ amount: 30 }))
      const first = { now: t0 + 6, counters: [counter()], key: 'reset-7', audit: audit('reset', t0 + 6) }
      expect(await admin.resetUsage(first)).toEqual({ applied: true })
      expect(await admin.resetUsage({ ...first, now: t0 + 7 })).toEqual({ applied: false })
      const elsewhere = { ...first, now: t0 + 8, counters: [counter({ identifier: '=bob' })] }
      expect(await rejectionOf(async () => admin.resetUsage(elsewhere))).toMatchObject({ code: 'IdempotencyKeyReused' })
      expect(await rejectionOf(async () => write('=alice', { kind: 'clear' }, t0 + 9, 'reset-7'))).toMatchObject({ code: 'IdempotencyKeyReused' })
      expect((await admin.readAdmin({ now: t0 + 10, counters: [counter()] }))[0]!.overrides.grants).toHaveLength(1)
      expect(await admin.readAudit(10)).toHaveLength(2)
    })

    it('refuses a malformed change with a typed error and changes nothing: fractional end, fractional or negative amount, too many grants', async () => {
      const bad: OverrideChange[] = [
        { kind: 'grant', amount: 5, until: t0 + 1000.5 },
        { kind: 'grant', amount: 1.5 },
        { kind: 'allow', amount: -1 },
      ]
      for (const change of bad) expect(await rejectionOf(async () => write('=alice', change))).toMatchObject({ code: 'InvalidAdminRequest' })
      for (let index = 0; index < maxGrants; index += 1) await write('=carol', { kind: 'grant', amount: 1 })
      expect(await rejectionOf(async () => write('=carol', { kind: 'grant', amount: 1 }))).toMatchObject({ code: 'InvalidAdminRequest' })
      const [alice, carol] = await admin.readAdmin({ now: t0, counters: [counter(), counter({ identifier: '=carol' })] })
      expect(alice!.overrides.allow).toBeUndefined()
      expect(alice!.overrides.grants ?? []).toEqual([])
      expect(carol!.overrides.grants).toHaveLength(maxGrants)
      expect(await admin.readAudit(1000)).toHaveLength(maxGrants)
    }, 20_000)

    it('remembers the last refusal of a counter: when, how much, against which limit and load', async () => {
      await reserve(t0, counter({ amount: 90 }))
      await reserve(t0 + 5, counter({ amount: 20 }))
      const [state, other] = await admin.readAdmin({ now: t0 + 6, counters: [counter(), counter({ identifier: '=bob' })] })
      expect(state!.lastRefusal).toEqual({ at: t0 + 5, requested: 20, limit: 100, used: 0, reserved: 90 })
      expect(other!.lastRefusal).toBeUndefined()
    })

    it("counts a counter's refusals in its window (fixed, flexi, rolling), those noted apart too, and starts again in a new window", async () => {
      const next: WindowSpec = { kind: 'fixed', start: t0 + minute, end: t0 + 2 * minute }
      const windows: [WindowSpec, WindowSpec][] = [
        [fixed, next],
        [
          { kind: 'flexi', endIfStartedNow: t0 + minute },
          { kind: 'flexi', endIfStartedNow: t0 + 3 * minute },
        ],
        [
          { kind: 'rolling', length: minute, bucket: 1000 },
          { kind: 'rolling', length: minute, bucket: 1000 },
        ],
      ]
      for (const [index, [window, later]] of windows.entries()) {
        const ref = counter({ counter: `refusals-${index}`, window })
        expect((await reserve(t0, { ...ref, amount: 90 })).ok).toBe(true)
        await reserve(t0 + 5, { ...ref, amount: 20 })
        await reserve(t0 + 6, { ...ref, amount: 30 })
        const { windowStart } = (await store.read({ now: t0 + 7, counters: [ref] }))[0]!
        await admin.noteRefusals({ now: t0 + 7, refusals: [{ ref, requested: 500, limit: 400, used: 0, reserved: 90, windowStart }] })
        const [state, other] = await admin.readAdmin({ now: t0 + 8, counters: [ref, { ...ref, identifier: '=bob' }] })
        expect(state!.refusals).toEqual({ since: t0 + 5, count: 3 })
        expect(state!.lastRefusal).toEqual({ at: t0 + 7, requested: 500, limit: 400, used: 0, reserved: 90 })
        expect(other!.refusals).toBeUndefined()
        // A refusal in a later window starts a new run (the rolling window has moved past t0 + 5 by then).
        const laterRef = { ...ref, window: later, amount: 101 }
        const at = t0 + 2 * minute + 10
        await reserve(at, laterRef)
        expect((await admin.readAdmin({ now: at, counters: [laterRef] }))[0]!.refusals).toEqual({ since: at, count: 1 })
      }
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
        await admin.resetUsage({ now: t0 + 3, counters: [ref], key: `reset-${index}`, audit: audit('reset', t0 + 3) })
        expect(await store.read({ now: t0 + 4, counters: [ref] })).toMatchObject([{ used: 0, reserved: 30 }])
        expect((await reserve(t0 + 5, counter({ counter: `reset-${index}`, window, amount: 70 }))).ok).toBe(true)
      }
    })
  })
}

async function rejectionOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run()
  } catch (error) {
    return error
  }
  return undefined
}
