import { expect, it } from 'vitest'
import type { BalanceRef } from '../store/credit-protocol.js'
import type { LeaseExpiry, QuotaStore, StoreHold } from '../store/quota-store.js'
import { balanceAt, balanceCounter, expectLedgerHolds, expectOk, ledgerOf, minute, nextLeaseId, t0, topUp } from './credit-contract-kit.js'

// The credit contract's part on leases: what a balance's holds become when they are settled, expire,
// are settled late or sent again. Run by `describeStoreCreditsContract`.

interface Held {
  readonly leaseId: string
  readonly hold: StoreHold | undefined
  readonly expiresAt: number
}

/** The credit contract's lease tests, for the store and balance `current()` and `balance()` return in each test. */
export function creditLeaseContractTests(current: () => QuotaStore, balance: () => BalanceRef): void {
  const hold = async (amount: number, now = t0, ttl = minute, onExpiry?: LeaseExpiry): Promise<Held> => {
    const leaseId = nextLeaseId()
    const expiresAt = now + ttl
    const result = expectOk(
      await current().reserve({ leaseId, now, expiresAt, onExpiry, record: `{"lease":"${leaseId}"}`, counters: [balanceCounter(balance(), amount)] }),
    )
    return { leaseId, hold: result.hold, expiresAt }
  }
  const settle = async (lease: Held, held: number, amount: number, now: number) =>
    (
      await current().settle({
        leaseId: lease.leaseId,
        hold: lease.hold,
        now,
        expiresAt: lease.expiresAt,
        charges: [{ ...balanceCounter(balance(), 0), placement: 0, held, amount }],
      })
    )[0]!

  it('charges the hold of a lease that expires unsettled from the grants, with its record; a released one writes nothing', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 100 })
    const charged = await hold(40, t0, 1000)
    await hold(10, t0, 1000, 'release')
    expect(await balanceAt(current(), balance(), t0 + 999)).toMatchObject({ balance: 100, reserved: 50 })
    expect(await balanceAt(current(), balance(), t0 + 1000)).toMatchObject({ balance: 60, reserved: 0 })
    const ledger = await expectLedgerHolds(current(), balance(), t0 + 1001)
    expect(ledger.map((row) => [row.kind, row.amount])).toEqual([
      ['topup', 100],
      ['charge', -40],
    ])
    expect(ledger[1]).toMatchObject({ leaseId: charged.leaseId, record: `{"lease":"${charged.leaseId}"}` })
  })

  it('settles late after an expiry charged: the difference as another charge, or given back as a refund; a retry does nothing', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 100 }, t0, 'late-grant')
    const more = await hold(40, t0, 1000)
    const less = await hold(30, t0, 1000)
    const outcome = await settle(more, 40, 55, t0 + 2000)
    expect(outcome).toMatchObject({ balanceBefore: 30, balanceAfter: 15 })
    expect(await settle(less, 30, 10, t0 + 2001)).toMatchObject({ balanceBefore: 15, balanceAfter: 35 })
    await settle(more, 40, 55, t0 + 2002)
    await settle(less, 30, 10, t0 + 2003)
    const ledger = await expectLedgerHolds(current(), balance(), t0 + 2004)
    expect(ledger.slice(3).map((row) => [row.kind, row.amount, row.leaseId])).toEqual([
      ['charge', -15, more.leaseId],
      ['refund', 20, less.leaseId],
    ])
    expect((await balanceAt(current(), balance(), t0 + 2004)).grants).toEqual([expect.objectContaining({ key: 'late-grant', remaining: 35 })])
  })

  it('refunds into a new grant when the grants it drew from have expired', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 100, expiresAt: t0 + 5000 })
    const lease = await hold(50, t0, 1000)
    await balanceAt(current(), balance(), t0 + 1000) // expiry charges 50
    await settle(lease, 50, 20, t0 + 6000) // the grant expired at t0 + 5000 (its 50 with it)
    const state = await balanceAt(current(), balance(), t0 + 6001)
    expect(state.balance).toBe(30)
    expect(state.grants).toEqual([expect.objectContaining({ key: `refund:${lease.leaseId}`, remaining: 30 })])
    const ledger = await expectLedgerHolds(current(), balance(), t0 + 6002)
    expect(ledger.map((row) => [row.kind, row.amount])).toEqual([
      ['topup', 100],
      ['charge', -50],
      ['expiry', -50],
      ['refund', 30],
    ])
  })

  it('never goes below zero: what the grants cannot pay is unpaid, in the outcome and the charge row', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 50 })
    const lease = await hold(50)
    expect(await settle(lease, 50, 80, t0 + 1)).toMatchObject({ balanceBefore: 50, balanceAfter: 0, unpaid: 30 })
    const ledger = await expectLedgerHolds(current(), balance(), t0 + 2)
    expect(ledger.at(-1)).toMatchObject({ kind: 'charge', amount: -50, unpaid: 30, leaseId: lease.leaseId })
  })

  it('returns the hold of a lease that used nothing and writes no row', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 50 })
    const lease = await hold(20)
    expect(await settle(lease, 20, 0, t0 + 1)).toMatchObject({ balanceBefore: 50, balanceAfter: 50 })
    expect(await balanceAt(current(), balance(), t0 + 2)).toMatchObject({ balance: 50, reserved: 0 })
    expect(await ledgerOf(current(), balance())).toHaveLength(1)
  })

  it('holds a lease once however often its reservation is sent, and charges a settle sent again once', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 100 })
    const leaseId = nextLeaseId()
    const request = { leaseId, now: t0, expiresAt: t0 + minute, counters: [balanceCounter(balance(), 30)] }
    const first = expectOk(await current().reserve(request))
    expect(await current().reserve(request)).toEqual(first)
    expect(await balanceAt(current(), balance(), t0 + 1)).toMatchObject({ reserved: 30 })
    const lease = { leaseId, hold: first.hold, expiresAt: t0 + minute }
    await settle(lease, 30, 25, t0 + 2)
    await settle(lease, 30, 25, t0 + 3) // its answer was lost
    expect(await balanceAt(current(), balance(), t0 + minute + 1)).toMatchObject({ balance: 75, reserved: 0 })
    expect(await expectLedgerHolds(current(), balance(), t0 + minute + 2)).toHaveLength(2)
  })
}
