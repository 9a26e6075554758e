import { expect, it } from 'vitest'
import type { BalanceRef } from '../store/credit-protocol.js'
import type { QuotaStore } from '../store/quota-store.js'
import { expectLedgerHolds, nextBalance, t0, topUp } from './credit-contract-kit.js'

// The credit contract's part on writes: top-ups and corrections, once per key, forever. Run by
// `describeStoreCreditsContract`.

const year = 366 * 24 * 3_600_000

/** The credit contract's write tests, for the store and balance `current()` and `balance()` return in each test. */
export function creditWriteContractTests(current: () => QuotaStore, balance: () => BalanceRef): void {
  it('credits a top-up key once, forever: the same change is a replay, another is refused and writes nothing', async () => {
    const first = await topUp(current(), balance(), { kind: 'topup', amount: 100 }, t0, 'evt_1')
    expect(first).toMatchObject({ applied: true, balance: { balance: 100 } })
    expect(await topUp(current(), balance(), { kind: 'topup', amount: 100 }, t0 + 1, 'evt_1')).toMatchObject({ applied: false, balance: { balance: 100 } })
    await expect(topUp(current(), balance(), { kind: 'topup', amount: 200 }, t0 + 2, 'evt_1')).rejects.toMatchObject({ code: 'IdempotencyKeyReused' })
    // A year later the key still dedupes (keys never expire).
    expect(await topUp(current(), balance(), { kind: 'topup', amount: 100 }, t0 + year, 'evt_1')).toMatchObject({ applied: false })
    await expect(topUp(current(), balance(), { kind: 'topup', amount: 100, priority: 1 }, t0 + year, 'evt_1')).rejects.toMatchObject({
      code: 'IdempotencyKeyReused',
    })
    expect(await expectLedgerHolds(current(), balance(), t0 + year)).toHaveLength(1)
  })

  it('a top-up sent again after its expiresAt passed is a replay (applied: false), not refused; a new key expiring in the past is refused', async () => {
    // A payment webhook delivered again days later: the key was applied, so nothing is new to check.
    const change = { kind: 'topup', amount: 100, expiresAt: t0 + 1000 } as const
    expect(await topUp(current(), balance(), change, t0, 'evt_late')).toMatchObject({ applied: true, balance: { balance: 100 } })
    expect(await topUp(current(), balance(), change, t0 + 5000, 'evt_late')).toMatchObject({ applied: false, balance: { balance: 0 } })
    await expect(topUp(current(), balance(), { ...change, amount: 200 }, t0 + 5000, 'evt_late')).rejects.toMatchObject({ code: 'IdempotencyKeyReused' })
    await expect(topUp(current(), balance(), change, t0 + 5000, 'evt_new')).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    expect((await expectLedgerHolds(current(), balance(), t0 + 5000)).map((row) => row.kind)).toEqual(['topup', 'expiry'])
  })

  it('keeps keys per balance: the same key on another balance is another top-up', async () => {
    const other = nextBalance()
    await topUp(current(), balance(), { kind: 'topup', amount: 100 }, t0, 'evt_shared')
    expect(await topUp(current(), other, { kind: 'topup', amount: 7 }, t0, 'evt_shared')).toMatchObject({ applied: true, balance: { balance: 7 } })
  })

  it('refuses a bad top-up with a typed error and writes nothing', async () => {
    await expect(topUp(current(), balance(), { kind: 'topup', amount: -5 })).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    await expect(topUp(current(), balance(), { kind: 'topup', amount: 5, expiresAt: t0 })).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    await expect(topUp(current(), balance(), { kind: 'topup', amount: 5, priority: 200 })).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    expect(await expectLedgerHolds(current(), balance(), t0)).toHaveLength(0)
  })

  it('corrects up and down; a correction larger than the balance is refused (InsufficientCredits) and writes nothing', async () => {
    await topUp(current(), balance(), { kind: 'topup', amount: 100 })
    expect(await topUp(current(), balance(), { kind: 'correction', amount: 25 })).toMatchObject({ applied: true, balance: { balance: 125 } })
    expect(await topUp(current(), balance(), { kind: 'correction', amount: -40 }, t0, 'fix-down')).toMatchObject({ applied: true, balance: { balance: 85 } })
    expect(await topUp(current(), balance(), { kind: 'correction', amount: -40 }, t0 + 1, 'fix-down')).toMatchObject({
      applied: false,
      balance: { balance: 85 },
    })
    await expect(topUp(current(), balance(), { kind: 'correction', amount: -86 })).rejects.toMatchObject({ code: 'InsufficientCredits' })
    const ledger = await expectLedgerHolds(current(), balance(), t0 + 2)
    expect(ledger.map((row) => [row.kind, row.amount])).toEqual([
      ['topup', 100],
      ['correction', 25],
      ['correction', -40],
    ])
  })

  it('refuses a top-up or correction that would take the balance past Number.MAX_SAFE_INTEGER, and writes nothing', async () => {
    const most = Number.MAX_SAFE_INTEGER
    expect(await topUp(current(), balance(), { kind: 'topup', amount: most - 10 })).toMatchObject({ applied: true, balance: { balance: most - 10 } })
    expect(await topUp(current(), balance(), { kind: 'topup', amount: 10 }, t0, 'to-the-brim')).toMatchObject({ balance: { balance: most } })
    await expect(topUp(current(), balance(), { kind: 'topup', amount: 1 }, t0, 'one-more')).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    await expect(topUp(current(), balance(), { kind: 'correction', amount: 5 }, t0, 'fix-up')).rejects.toMatchObject({ code: 'InvalidAdminRequest' })
    const ledger = await expectLedgerHolds(current(), balance(), t0)
    expect(ledger.map((row) => [row.kind, row.amount, row.balanceAfter])).toEqual([
      ['topup', most - 10, most - 10],
      ['topup', 10, most],
    ])
  })
}
