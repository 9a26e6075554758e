import { describe, expect, it } from 'vitest'
import type { CreditGrant, CreditWrite } from '../credit-protocol.js'
import {
  applyCreditWrite,
  balanceOf,
  chargeRow,
  checkCreditWrite,
  checkNewTopUpExpiry,
  creditSettleChange,
  creditWriteApplies,
  creditWriteFingerprint,
  drawCredits,
  expireGrants,
  expiryRows,
  ledgerRow,
  refundCredits,
} from './credits.js'

const t0 = Date.UTC(2026, 0, 1)
const t1 = t0 + 86_400_000

const grant = (key: string, amount: number, more: Partial<CreditGrant> = {}): CreditGrant => ({
  key,
  amount,
  remaining: amount,
  priority: 50,
  grantedAt: t0,
  ...more,
})
const A = grant('A', 1000, { expiresAt: t1 })
const B = grant('B', 500)

describe('credit algebra', () => {
  it('draws in spending order: what expires first is spent first, no expiry last', () => {
    const { grants, drawn, unpaid } = drawCredits([B, A], 1200)
    expect(drawn).toEqual([
      { grant: 'A', amount: 1000 },
      { grant: 'B', amount: 200 },
    ])
    expect(unpaid).toBe(0)
    expect(grants.map((each) => [each.key, each.remaining])).toEqual([
      ['A', 0],
      ['B', 300],
    ])
    expect(A.remaining).toBe(1000) // inputs are never changed
  })

  it('spends a lower priority before an earlier expiry', () => {
    const first = grant('P', 100, { priority: 10 })
    expect(drawCredits([A, first], 150).drawn).toEqual([
      { grant: 'P', amount: 100 },
      { grant: 'A', amount: 50 },
    ])
  })

  it('never goes below zero: the rest is unpaid', () => {
    const { grants, unpaid, drawn } = drawCredits([grant('C', 30)], 45)
    expect(unpaid).toBe(15)
    expect(drawn).toEqual([{ grant: 'C', amount: 30 }])
    expect(balanceOf(grants)).toBe(0)
  })

  it('expires a grant at its expiresAt exactly, with one row of minus its remainder; a spent grant goes without a row', () => {
    const spent = grant('S', 10, { remaining: 0, expiresAt: t1 })
    expect(expireGrants([A, B, spent], t1 - 1).expired).toEqual([])
    const { grants, expired } = expireGrants([{ ...A, remaining: 400 }, B, spent], t1 + 5)
    expect(grants.map((each) => each.key)).toEqual(['B'])
    expect(expiryRows(expired)).toEqual([{ at: t1, kind: 'expiry', amount: -400, grant: 'A' }])
  })

  it('refunds to the grants most recently drawn first, each up to what was drawn; the rest as a refund grant', () => {
    const drawn = drawCredits([A, B], 1200).grants // A 0, B 300
    const back = refundCredits(drawn, 300, 'lease-1', t0)
    expect(back.returned).toEqual([
      { grant: 'B', amount: 200 },
      { grant: 'A', amount: 100 },
    ])
    expect(back.grants.map((each) => [each.key, each.remaining])).toEqual([
      ['A', 100],
      ['B', 500],
    ])
    // A expired: nothing unexpired can take all of it back.
    const after = refundCredits(expireGrants(drawn, t1).grants, 400, 'lease-2', t1)
    expect(after.returned).toEqual([
      { grant: 'B', amount: 200 },
      { grant: 'refund:lease-2', amount: 200 },
    ])
    expect(after.grants.find((each) => each.key === 'refund:lease-2')).toEqual({
      key: 'refund:lease-2',
      amount: 200,
      remaining: 200,
      priority: 50,
      grantedAt: t1,
    })
  })

  it('settles a balance by the fate of its hold: the whole amount, or the difference to what expiry charged', () => {
    expect(creditSettleChange('holding', 50, 30)).toEqual({ draw: 30, refund: 0 })
    expect(creditSettleChange(undefined, 0, 30)).toEqual({ draw: 30, refund: 0 })
    expect(creditSettleChange('charged', 50, 80)).toEqual({ draw: 30, refund: 0 })
    expect(creditSettleChange('charged', 50, 20)).toEqual({ draw: 0, refund: 30 })
  })

  it('writes a charge row with what each grant gave and what was unpaid, and none for a lease that used nothing', () => {
    const row = chargeRow({ drawn: [{ grant: 'A', amount: 30 }], unpaid: 5 }, { leaseId: 'l', record: '{}' }, t0)
    expect(row).toEqual({ at: t0, kind: 'charge', amount: -30, leaseId: 'l', record: '{}', drawn: [{ grant: 'A', amount: 30 }], unpaid: 5 })
    expect(chargeRow({ drawn: [], unpaid: 0 }, { leaseId: 'l' }, t0)).toBeUndefined()
  })

  it('numbers rows from 1 with the running balance', () => {
    const first = ledgerRow(undefined, { at: t0, kind: 'topup', amount: 100, grant: 'A' })
    const second = ledgerRow(first, { at: t0, kind: 'charge', amount: -30 })
    expect([first.seq, first.balanceAfter, second.seq, second.balanceAfter]).toEqual([1, 100, 2, 70])
  })

  it('applies a key once: the same change is a replay, another change is refused', () => {
    const write = (amount: number): CreditWrite => ({ counter: 'c', identifier: '=a', now: t0, key: 'pay-1', change: { kind: 'topup', amount } })
    const fingerprint = creditWriteFingerprint(write(100))
    const withWho: CreditWrite = { ...write(100), by: 'someone else', reason: 'retried' }
    expect(creditWriteApplies(undefined, fingerprint, 'pay-1')).toBe(true)
    expect(creditWriteApplies(fingerprint, creditWriteFingerprint(withWho), 'pay-1')).toBe(false)
    expect(() => creditWriteApplies(fingerprint, creditWriteFingerprint(write(101)), 'pay-1')).toThrow(
      expect.objectContaining({ code: 'IdempotencyKeyReused' }),
    )
  })

  it('checks a write: whole positive top-ups, priority 0–100, expiry after now, non-zero corrections', () => {
    const base = { counter: 'c', identifier: '=a', now: t0, key: 'k' }
    const bad: CreditWrite['change'][] = [
      { kind: 'topup', amount: 0 },
      { kind: 'topup', amount: 1.5 },
      { kind: 'topup', amount: 10, priority: 101 },
      { kind: 'topup', amount: 10, priority: 0.5 },
      { kind: 'topup', amount: 10, expiresAt: t0 + 0.5 },
      { kind: 'correction', amount: 0 },
    ]
    for (const change of bad)
      expect(() => checkCreditWrite({ ...base, change }), JSON.stringify(change)).toThrow(expect.objectContaining({ code: 'InvalidAdminRequest' }))
    expect(() => checkCreditWrite({ ...base, key: '', change: { kind: 'topup', amount: 1 } })).toThrow(expect.objectContaining({ code: 'InvalidAdminRequest' }))
    expect(() => checkCreditWrite({ ...base, change: { kind: 'topup', amount: 10, priority: 0, expiresAt: t0 + 1 } })).not.toThrow()
    // Expiry after now: checked for a new key only (a replay past its expiresAt is a replay).
    for (const expiresAt of [t0, t0 - 1])
      expect(() => checkNewTopUpExpiry({ ...base, change: { kind: 'topup', amount: 10, expiresAt } })).toThrow(
        expect.objectContaining({ code: 'InvalidAdminRequest' }),
      )
    expect(() => checkNewTopUpExpiry({ ...base, change: { kind: 'topup', amount: 10, expiresAt: t0 + 1 } })).not.toThrow()
    expect(() => checkNewTopUpExpiry({ ...base, change: { kind: 'correction', amount: -1 } })).not.toThrow()
  })

  it('corrects: a positive correction is a grant, a negative one draws in order and is refused beyond the balance', () => {
    const base = { counter: 'c', identifier: '=a', now: t0 }
    const up = applyCreditWrite([B], { ...base, key: 'fix-1', change: { kind: 'correction', amount: 20 }, by: 'ops' })
    expect(up.row).toEqual({ at: t0, kind: 'correction', amount: 20, grant: 'fix-1', by: 'ops' })
    expect(balanceOf(up.grants)).toBe(520)
    const down = applyCreditWrite([A, B], { ...base, key: 'fix-2', change: { kind: 'correction', amount: -1100 } })
    expect(down.row).toMatchObject({
      kind: 'correction',
      amount: -1100,
      drawn: [
        { grant: 'A', amount: 1000 },
        { grant: 'B', amount: 100 },
      ],
    })
    expect(() => applyCreditWrite([B], { ...base, key: 'fix-3', change: { kind: 'correction', amount: -501 } })).toThrow(
      expect.objectContaining({ code: 'InsufficientCredits' }),
    )
  })
})
