import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { BalanceRef } from '../store/credit-protocol.js'
import type { CounterRequest, QuotaStore, StoreHold } from '../store/quota-store.js'
import { balanceAt, balanceCounter, expectLedgerHolds, expectOk, ledgerOf, minute, nextBalance, nextLeaseId, t0, topUp } from './credit-contract-kit.js'
import { creditLeaseContractTests } from './store-contract-credit-leases.js'
import { creditWriteContractTests } from './store-contract-credit-writes.js'
import type { StoreContractOptions } from './store-contract.js'

const year = 366 * 24 * 3_600_000
const neverResets = Number.MAX_SAFE_INTEGER

/**
 * The behaviour every store that holds credit balances (`QuotaStore.credits`) must have: grants
 * spent in order, expiry, idempotent top-ups, holds and charges on `{ kind: 'balance' }`
 * counters, and a ledger whose sum is the balance after every step. Call it inside a test file:
 * `describeStoreCreditsContract('RedisStore', () => new RedisStore(...))` (or with the
 * `{ createStore, disposeStore }` options of `describeQuotaStoreContract`).
 */
export function describeStoreCreditsContract(name: string, makeStore: StoreContractOptions | StoreContractOptions['createStore']): void {
  const options = typeof makeStore === 'function' ? { createStore: makeStore } : makeStore
  describe(`${name} (credits contract)`, () => {
    let store: QuotaStore
    let ref: BalanceRef

    beforeEach(async () => {
      store = await options.createStore()
      ref = nextBalance()
    })
    afterEach(async () => {
      await options.disposeStore?.(store)
    })

    const reserve = (now: number, counters: CounterRequest[], ttl = minute) => store.reserve({ leaseId: nextLeaseId(), now, expiresAt: now + ttl, counters })
    const readBalance = async (now: number) => (await store.read({ now, counters: [balanceCounter(ref, 0)] }))[0]!

    it('reads a balance as a counter that never resets: used 0, its holds, the balance as limit', async () => {
      expect(await readBalance(t0)).toEqual({ used: 0, reserved: 0, windowStart: 0, resetAt: neverResets, limit: 0 })
      await topUp(store, ref, { kind: 'topup', amount: 100 })
      expectOk(await reserve(t0 + 1, [balanceCounter(ref, 30)]))
      expect(await readBalance(t0 + 2)).toEqual({ used: 0, reserved: 30, windowStart: 0, resetAt: neverResets, limit: 100 })
      expect(await balanceAt(store, ref, t0 + 2)).toMatchObject({ balance: 100, reserved: 30 })
    })

    it('holds up to the grants less the holds, whatever the request limit says; refuses beyond, with no retry time', async () => {
      await topUp(store, ref, { kind: 'topup', amount: 100 })
      expectOk(await reserve(t0, [balanceCounter(ref, 30, { limit: 1_000_000 })]))
      const refused = await reserve(t0, [balanceCounter(ref, 71, { limit: 1_000_000 })])
      expect(refused.ok).toBe(false)
      if (!refused.ok) {
        expect(refused.refusals).toEqual([{ index: 0, snapshot: expect.objectContaining({ used: 0, reserved: 30, limit: 100 }), retryAt: neverResets }])
      }
      expectOk(await reserve(t0, [balanceCounter(ref, 70, { limit: 1 })]))
      expect((await reserve(t0, [balanceCounter(ref, 1)])).ok).toBe(false)
    })

    it('refuses an empty balance', async () => {
      const refused = await reserve(t0, [balanceCounter(ref, 1)])
      expect(refused.ok).toBe(false)
    })

    it('is all or nothing with the other counters: a refusal on either side writes nothing', async () => {
      await topUp(store, ref, { kind: 'topup', amount: 50 })
      const window: CounterRequest = {
        counter: 'daily',
        identifier: ref.identifier,
        window: { kind: 'fixed', start: t0, end: t0 + minute },
        limit: 100,
        amount: 60,
        hold: true,
      }
      const creditsShort = await reserve(t0, [window, balanceCounter(ref, 60)])
      expect(creditsShort.ok).toBe(false)
      if (!creditsShort.ok) expect(creditsShort.refusals.map((refusal) => refusal.index)).toEqual([1])
      const windowShort = await reserve(t0, [{ ...window, amount: 101 }, balanceCounter(ref, 40)])
      expect(windowShort.ok).toBe(false)
      if (!windowShort.ok) expect(windowShort.refusals.map((refusal) => refusal.index)).toEqual([0])
      const [daily, balance] = await store.read({ now: t0 + 1, counters: [window, balanceCounter(ref, 0)] })
      expect([daily!.reserved, balance!.reserved, balance!.limit]).toEqual([0, 0, 50])
      expect(await expectLedgerHolds(store, ref, t0 + 1)).toHaveLength(1)
    })

    it('fills an allowance first and the balance with the rest: 120 holds 100 + 20, then 40 is refused while 30 are left', async () => {
      await topUp(store, ref, { kind: 'topup', amount: 50 })
      const allowance: CounterRequest = {
        counter: 'plan',
        identifier: ref.identifier,
        window: { kind: 'fixed', start: t0, end: t0 + 30 * minute },
        limit: 100,
        amount: 0,
        hold: true,
        group: 'g',
      }
      const both = (amount: number) => [{ ...allowance, amount }, balanceCounter(ref, amount, { group: 'g' })]
      const leaseId = nextLeaseId()
      const first = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters: both(120) }))
      expect(first.held).toEqual([100, 20])
      const refused = await reserve(t0 + 1, both(40))
      expect(refused.ok).toBe(false)
      if (!refused.ok) expect(refused.refusals.map((refusal) => refusal.index)).toEqual([1])
      expectOk(await reserve(t0 + 2, both(30)))
      const outcome = await store.settle({
        leaseId,
        hold: first.hold,
        now: t0 + 3,
        expiresAt: t0 + minute,
        charges: [
          { ...allowance, placement: first.placements[0]!, held: 100, amount: 100 },
          { ...balanceCounter(ref, 0), placement: first.placements[1]!, held: 20, amount: 20 },
        ],
      })
      expect(outcome[1]).toMatchObject({ balanceBefore: 50, balanceAfter: 30 })
      const ledger = await expectLedgerHolds(store, ref, t0 + 4)
      expect(ledger.at(-1)).toMatchObject({ kind: 'charge', amount: -20, leaseId, drawn: [{ grant: expect.any(String), amount: 20 }] })
    })

    it('spends what expires first first; after T1 what was left of A is gone, recorded once as expired', async () => {
      const t1 = t0 + 10 * minute
      await topUp(store, ref, { kind: 'topup', amount: 500 }, t0, 'B')
      await topUp(store, ref, { kind: 'topup', amount: 1000, expiresAt: t1 }, t0, 'A')
      const leaseId = nextLeaseId()
      const held = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters: [balanceCounter(ref, 300)] }))
      await store.settle({
        leaseId,
        hold: held.hold,
        now: t0 + 1,
        expiresAt: t0 + minute,
        charges: [{ ...balanceCounter(ref, 0), placement: 0, held: 300, amount: 300 }],
      })
      const charge = (await ledgerOf(store, ref)).at(-1)!
      expect(charge).toMatchObject({ kind: 'charge', amount: -300, drawn: [{ grant: 'A', amount: 300 }] })
      expect((await balanceAt(store, ref, t1 - 1)).grants.map((grant) => [grant.key, grant.remaining])).toEqual([
        ['A', 700],
        ['B', 500],
      ])
      // The first call at T1 records the expiry and says so; later calls do not say it again.
      const atT1 = await readBalance(t1)
      expect(atT1.limit).toBe(500)
      expect(atT1.expired).toEqual([expect.objectContaining({ kind: 'expiry', amount: -700, grant: 'A', at: t1 })])
      expect((await readBalance(t1 + 1)).expired).toBeUndefined()
      expect((await balanceAt(store, ref, t1 + 2)).expired).toBeUndefined()
      const ledger = await expectLedgerHolds(store, ref, t1 + year)
      expect(ledger.filter((row) => row.kind === 'expiry')).toHaveLength(1)
    })

    it('tells an expiry to the call that recorded it, whichever it is (a balance read here)', async () => {
      await topUp(store, ref, { kind: 'topup', amount: 10, expiresAt: t0 + 5 })
      const state = await balanceAt(store, ref, t0 + 5)
      expect(state).toMatchObject({ balance: 0, grants: [], expired: [expect.objectContaining({ kind: 'expiry', amount: -10 })] })
    })

    it('spends a lower priority first, before an earlier expiry', async () => {
      await topUp(store, ref, { kind: 'topup', amount: 100, expiresAt: t0 + minute }, t0, 'soon')
      await topUp(store, ref, { kind: 'topup', amount: 100, priority: 10 }, t0, 'first')
      const leaseId = nextLeaseId()
      const held = expectOk(await store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters: [balanceCounter(ref, 150)] }))
      await store.settle({
        leaseId,
        hold: held.hold,
        now: t0 + 1,
        expiresAt: t0 + minute,
        charges: [{ ...balanceCounter(ref, 0), placement: 0, held: 150, amount: 150 }],
      })
      expect((await ledgerOf(store, ref)).at(-1)!.drawn).toEqual([
        { grant: 'first', amount: 100 },
        { grant: 'soon', amount: 50 },
      ])
    })

    it('admits exactly the balance under concurrent reservations: 70 of 25 on 1,500 → 60', async () => {
      await topUp(store, ref, { kind: 'topup', amount: 1500 })
      const leaseIds = Array.from({ length: 70 }, nextLeaseId)
      const results = await Promise.all(
        leaseIds.map((leaseId) => store.reserve({ leaseId, now: t0, expiresAt: t0 + minute, counters: [balanceCounter(ref, 25)] })),
      )
      const held = results.flatMap((result, index) => (result.ok ? [{ leaseId: leaseIds[index]!, hold: result.hold }] : []))
      expect(held).toHaveLength(60)
      await Promise.all(
        held.map(({ leaseId, hold }) =>
          store.settle({
            leaseId,
            hold,
            now: t0 + 1,
            expiresAt: t0 + minute,
            charges: [{ ...balanceCounter(ref, 0), placement: 0, held: 25, amount: 25 }],
          }),
        ),
      )
      expect(await readBalance(t0 + 2)).toMatchObject({ reserved: 0, limit: 0 })
      expect(await expectLedgerHolds(store, ref, t0 + 2)).toHaveLength(61)
    })

    it('keeps Σ ledger == balance == Σ grants, numbered without gaps, after every step of a mixed run', async () => {
      let seed = 11
      const random = (below: number) => {
        seed = (seed * 48_271) % 2_147_483_647
        return seed % below
      }
      let now = t0
      const open: Array<{ leaseId: string; hold: StoreHold | undefined; held: number; expiresAt: number }> = []
      for (let step = 0; step < 120; step += 1) {
        now += random(5) * 1000
        const action = random(6)
        if (action === 0)
          await topUp(
            store,
            ref,
            { kind: 'topup', amount: 1 + random(200), ...(random(2) ? { expiresAt: now + 1000 + random(20_000) } : {}), priority: random(3) * 25 },
            now,
          )
        else if (action === 1 && (await balanceAt(store, ref, now)).balance > 10) await topUp(store, ref, { kind: 'correction', amount: -1 - random(10) }, now)
        else if (action <= 3) {
          const leaseId = nextLeaseId()
          const amount = 1 + random(60)
          const expiresAt = now + 1000 + random(8000)
          const result = await store.reserve({ leaseId, now, expiresAt, counters: [balanceCounter(ref, amount)] })
          if (result.ok) open.push({ leaseId, hold: result.hold, held: amount, expiresAt })
        } else if (open.length > 0) {
          const lease = open.splice(random(open.length), 1)[0]!
          const used = random(lease.held * 2) // less, or more than it held (unpaid when the grants run out)
          const charges = [{ ...balanceCounter(ref, 0), placement: 0, held: lease.held, amount: used }]
          await store.settle({ leaseId: lease.leaseId, hold: lease.hold, now, expiresAt: lease.expiresAt, charges })
        }
        await expectLedgerHolds(store, ref, now)
      }
    })

    creditWriteContractTests(
      () => store,
      () => ref,
    )
    creditLeaseContractTests(
      () => store,
      () => ref,
    )
  })
}
