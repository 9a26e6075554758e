import { describe, expect, it } from 'vitest'
import type { CreditsUnpaidEvent, UsageEvent } from '../engine/events.js'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaStore } from '../store/quota-store.js'
import { createFakeClock } from './fake-clock.js'

const alice = { user: 'alice' }

/** A plan of 100 a month that spills into credits, with `credits` topped up and `used` already charged to the plan. */
async function spillingQuota(createStore: SpillStoreFactory, options: { readonly credits: number; readonly used: number }) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const store = await createStore(clock.now)
  const quota = createTokenQuota({
    policies: [
      { name: 'plan', identifier: 'user', allow: 100, interval: 1, timeUnit: 'month', spillTo: 'credits' },
      { name: 'credits', type: 'balance', identifier: 'user' },
    ],
    store,
    now: clock.now,
  })
  if (options.credits > 0) await quota.admin.topUp({ policy: 'credits', context: alice, amount: options.credits, key: 'pack' })
  if (options.used > 0) await (await quota.reserve(alice, { estimate: options.used })).commit({ total: options.used })
  await quota.flush() // that commit may be written in the background: landed before the call under test reserves
  const usage: UsageEvent[] = []
  const unpaid: CreditsUnpaidEvent[] = []
  quota.on('usage', (event) => usage.push(event))
  quota.on('creditsUnpaid', (event) => unpaid.push(event))
  /** What the plan and the credits hold once every write landed, and the lease's ledger rows: [amount, unpaid]. */
  const settled = async (leaseIds: readonly string[]) => {
    await quota.flush() // a settle may be written in the background
    // A SyncedStore learns the shared count of a window it has read at its next sync.
    await quota.status(alice)
    await quota.flush()
    const [plan] = await quota.status(alice)
    const credits = await quota.admin.credits({ policy: 'credits', context: alice })
    const ledger = await quota.admin.ledger({ policy: 'credits', context: alice })
    const rows = ledger.filter((row) => row.kind === 'charge' && leaseIds.includes(row.leaseId!)).map((row) => [row.amount, row.unpaid ?? 0])
    rows.sort(([left], [right]) => right! - left!) // concurrent settles land in either order
    await quota.close()
    return { planUsed: plan!.used, balance: credits.balance, reserved: credits.reserved, rows }
  }
  return { quota, clock, usage, unpaid, settled }
}

/** A fresh store; `now` is the quota's clock, for a store that keeps time of its own (SyncedStore's syncs). */
type SpillStoreFactory = (now: () => number) => QuotaStore | Promise<QuotaStore>

const split = (charges: readonly { readonly policy: string; readonly amount: number }[]) =>
  charges.map((charge) => `${charge.policy} ${charge.amount}`).join(' + ')

/**
 * A call that uses more than its estimate while its plan spills into credits: the plan is charged
 * at most what its reservation held there, the rest goes to the credits — drawn, or recorded unpaid
 * with `creditsUnpaid` — never to a plan past its limit, whose window would reset it unpaid. Run on
 * every store.
 */
export function describeSpillBeyondEstimate(name: string, createStore: SpillStoreFactory): void {
  describe(`${name}: usage above the estimate in a spill`, () => {
    it('charges the credits, not a full plan: used 90 of 100, estimate 30 (10 + 20 held), uses 50 → plan 10 + credits 40', async () => {
      const { quota, usage, unpaid, settled } = await spillingQuota(createStore, { credits: 100, used: 90 })
      const lease = await quota.reserve(alice, { estimate: 30 })
      expect(lease.decisions.map((decision) => [decision.policy, decision.reserved])).toEqual([
        ['plan', 10],
        ['credits', 20],
      ])
      const { charges } = await lease.commit({ total: 50 })
      expect(split(charges)).toBe('plan 10 + credits 40')
      expect(usage.map((event) => split(event.charges))).toEqual(['plan 10 + credits 40'])
      expect(await settled([lease.id])).toEqual({ planUsed: 100, balance: 60, reserved: 0, rows: [[-40, 0]] })
      expect(unpaid).toEqual([])
    })

    it('records what the grants cannot pay as unpaid, with creditsUnpaid: 30 credits, the call uses 50 → draws 30, 10 unpaid', async () => {
      const { quota, unpaid, settled } = await spillingQuota(createStore, { credits: 30, used: 90 })
      const lease = await quota.reserve(alice, { estimate: 30 })
      expect(split((await lease.commit({ total: 50 })).charges)).toBe('plan 10 + credits 40')
      expect(await settled([lease.id])).toEqual({ planUsed: 100, balance: 0, reserved: 0, rows: [[-30, 10]] })
      expect(unpaid).toEqual([{ policy: 'credits', identifier: 'alice', leaseId: lease.id, amount: 10 }])
    })

    it('charges the plan no more than its hold even when it had room: the room beyond a hold may be another call’s', async () => {
      const { quota, settled } = await spillingQuota(createStore, { credits: 100, used: 0 })
      const lease = await quota.reserve(alice, { estimate: 30 })
      expect(split((await lease.commit({ total: 50 })).charges)).toBe('plan 30 + credits 20')
      expect(await settled([lease.id])).toMatchObject({ planUsed: 30, balance: 80 })
    })

    it('keeps the plan at its limit under two overrunning calls at once: 30 + 20 held of the last 50, each uses 60', async () => {
      const { quota, settled } = await spillingQuota(createStore, { credits: 100, used: 50 })
      const first = await quota.reserve(alice, { estimate: 30 })
      const second = await quota.reserve(alice, { estimate: 30 })
      const results = await Promise.all([first.commit({ total: 60 }), second.commit({ total: 60 })])
      expect(results.map((result) => split(result.charges))).toEqual(['plan 30 + credits 30', 'plan 20 + credits 40'])
      expect(await settled([first.id, second.id])).toEqual({
        planUsed: 100,
        balance: 30,
        reserved: 0,
        rows: [
          [-30, 0],
          [-40, 0],
        ],
      })
    })

    it('charges an overrun to the credits on a commit after the lease expired unsettled: plan 10 + credits 40 in all', async () => {
      const { quota, clock, settled } = await spillingQuota(createStore, { credits: 100, used: 90 })
      const lease = await quota.reserve(alice, { estimate: 30 })
      clock.advance(30 * 60_000)
      await quota.status(alice) // the store charges the expired hold: 10 on the plan, 20 credits
      expect(split((await lease.commit({ total: 50 })).charges)).toBe('plan 10 + credits 40')
      expect(await settled([lease.id])).toEqual({
        planUsed: 100,
        balance: 60,
        reserved: 0,
        rows: [
          [-20, 0],
          [-20, 0],
        ],
      })
    })

    it('still charges less than the hold by filling the plan first: held 10 + 20, uses 25 → plan 10 + credits 15', async () => {
      const { quota, settled } = await spillingQuota(createStore, { credits: 100, used: 90 })
      const lease = await quota.reserve(alice, { estimate: 30 })
      expect(split((await lease.commit({ total: 25 })).charges)).toBe('plan 10 + credits 15')
      expect(await settled([lease.id])).toEqual({ planUsed: 100, balance: 85, reserved: 0, rows: [[-15, 0]] })
    })

    // The split a `usage` event reports is what reports and billing exports add up: it must be what
    // the store applied (the plan's counter, the ledger's drawn + unpaid), under and over the hold.
    it('reports in the usage event the split the store applied: held 10 + 20, uses 25 or 50 → the plan counter and the ledger agree', async () => {
      for (const total of [25, 50]) {
        const { quota, usage, unpaid, settled } = await spillingQuota(createStore, { credits: 100, used: 90 })
        const lease = await quota.reserve(alice, { estimate: 30 })
        await lease.commit({ total })
        const { planUsed, rows } = await settled([lease.id])
        const charged = usage[0]!.charges.map((charge) => charge.amount)
        expect(charged).toEqual([planUsed - 90, -rows[0]![0]! + rows[0]![1]!])
        expect(charged).toEqual(total === 25 ? [10, 15] : [10, 40])
        expect(unpaid).toEqual([])
      }
    })

    it('charges an overrun to the credits even with plan room and no credits, as unpaid: the event, ledger and plan counter agree', async () => {
      const { quota, usage, unpaid, settled } = await spillingQuota(createStore, { credits: 0, used: 10 })
      const lease = await quota.reserve(alice, { estimate: 30 })
      await lease.commit({ total: 33 })
      expect(usage.map((event) => split(event.charges))).toEqual(['plan 30 + credits 3'])
      expect(await settled([lease.id])).toEqual({ planUsed: 40, balance: 0, reserved: 0, rows: [[0, 3]] })
      expect(unpaid).toEqual([{ policy: 'credits', identifier: 'alice', leaseId: lease.id, amount: 3 }])
    })
  })
}
