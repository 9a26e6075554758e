import { expect } from 'vitest'
import type { BalanceRef, BalanceState, CreditWrite, CreditWriteOutcome, LedgerEntry, StoreCredits } from '../store/credit-protocol.js'
import type { CounterRequest, QuotaStore, ReserveResult, WindowSpec } from '../store/quota-store.js'

// Shared pieces of the credit contract (`describeStoreCreditsContract`): a store under test with
// its credits, and the ledger invariant every step must keep.

export const minute = 60_000
export const t0 = Date.UTC(2026, 0, 1)
export const balanceWindow: WindowSpec = { kind: 'balance' }

let leases = 0
export const nextLeaseId = (): string => `credit-lease-${++leases}`

/** A fresh balance per test (the store is fresh too; the name keeps shared servers apart). */
let balances = 0
export function nextBalance(): BalanceRef {
  balances += 1
  return { counter: `credits-${balances}`, identifier: '=alice' }
}

export function balanceCounter(ref: BalanceRef, amount: number, overrides: Partial<CounterRequest> = {}): CounterRequest {
  return { counter: ref.counter, identifier: ref.identifier, window: balanceWindow, amount, hold: true, ...overrides }
}

export function expectOk(result: ReserveResult): Extract<ReserveResult, { ok: true }> {
  if (!result.ok) throw new Error(`expected the reservation to succeed, got ${JSON.stringify(result)}`)
  return result
}

export function creditsOf(store: QuotaStore): StoreCredits {
  if (!store.credits) throw new Error('the store has no `credits`: it cannot hold balance counters')
  return store.credits
}

/** A top-up (or correction) with a fresh key unless given one. */
let keys = 0
export async function topUp(store: QuotaStore, ref: BalanceRef, change: CreditWrite['change'], now = t0, key = `pay-${++keys}`): Promise<CreditWriteOutcome> {
  return creditsOf(store).writeCredits({ ...ref, now, key, change })
}

export async function balanceAt(store: QuotaStore, ref: BalanceRef, now: number): Promise<BalanceState> {
  return (await creditsOf(store).readBalances({ now, balances: [ref] }))[0]!
}

export async function ledgerOf(store: QuotaStore, ref: BalanceRef): Promise<readonly LedgerEntry[]> {
  return creditsOf(store).readLedger({ ...ref, limit: 10_000 })
}

/**
 * The ledger invariant: rows numbered from 1 without gaps, each `balanceAfter` the running sum, and
 * Σ ledger == balance == Σ remaining of the grants; the balance never negative. Returns the ledger.
 */
export async function expectLedgerHolds(store: QuotaStore, ref: BalanceRef, now: number): Promise<readonly LedgerEntry[]> {
  const state = await balanceAt(store, ref, now)
  const ledger = await ledgerOf(store, ref)
  let sum = 0
  ledger.forEach((row, index) => {
    sum += row.amount
    expect(row.seq, 'ledger rows are numbered from 1 without gaps').toBe(index + 1)
    expect(row.balanceAfter, `row ${row.seq}: balanceAfter is the running sum`).toBe(sum)
    expect(row.balanceAfter, `row ${row.seq}: never below zero`).toBeGreaterThanOrEqual(0)
  })
  expect(state.balance, 'Σ ledger == balance').toBe(sum)
  expect(
    state.grants.reduce((total, grant) => total + grant.remaining, 0),
    'balance == Σ remaining of grants',
  ).toBe(state.balance)
  return ledger
}
