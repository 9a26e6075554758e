import { describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { QuotaStore } from '../store/quota-store.js'
import { createFakeClock } from './fake-clock.js'

const minute = 60_000
const alice = { user: 'alice' }

/** A lease of 50 whose expiry finds only `left` credits (a grant of 100 expired first), then settles late with `used`. */
async function lateSettle(store: QuotaStore, left: number, used: number) {
  const clock = createFakeClock('2026-03-14T10:00:00Z')
  const quota = createTokenQuota({ policies: [{ name: 'credits', type: 'balance', identifier: 'user' }], store, now: clock.now })
  await quota.admin.topUp({ policy: 'credits', context: alice, amount: 100, key: 'pack', expiresAt: clock.now() + 1000 })
  if (left > 0) await quota.admin.topUp({ policy: 'credits', context: alice, amount: left, key: 'rest' })
  const lease = await quota.reserve(alice, { estimate: 50 })
  clock.advance(30 * minute)
  await quota.admin.credits({ policy: 'credits', context: alice }) // the store expires the grant and charges the lease's hold
  await lease.commit({ total: used })
  await quota.flush() // a settle may be written in the background
  const balance = await quota.admin.credits({ policy: 'credits', context: alice })
  const ledger = await quota.admin.ledger({ policy: 'credits', context: alice })
  await quota.close()
  return { balance: balance.balance, rows: ledger.map((row) => [row.kind, row.amount, row.unpaid ?? 0]) }
}

/**
 * A late settle after an expiry charge the grants could not fully pay: the lease owes what it
 * used less what the expiry paid; credits never paid are never refunded. Run on every store.
 */
export function describeLateSettleAfterUnpaidExpiry(name: string, createStore: () => QuotaStore | Promise<QuotaStore>): void {
  describe(`${name}: a late settle after an expiry charge the grants could not pay`, () => {
    it('refunds nothing the expiry never drew: a lease that paid 0 and used 30 gets no free credits', async () => {
      const { balance, rows } = await lateSettle(await createStore(), 0, 30)
      expect(balance).toBe(0)
      expect(rows.filter(([kind]) => kind === 'refund')).toEqual([])
    })

    it('owes what it used less what the expiry paid: paid 20 of 50, used 40 → draws 20 more', async () => {
      const { balance, rows } = await lateSettle(await createStore(), 20, 40)
      expect(balance).toBe(0)
      expect(rows.filter(([kind]) => kind === 'charge')).toEqual([
        ['charge', -20, 30],
        ['charge', 0, 20],
      ])
    })

    it('gives back only what the expiry paid beyond the use: paid 20 of 50, used 10 → refund 10', async () => {
      const { balance, rows } = await lateSettle(await createStore(), 20, 10)
      expect(balance).toBe(10)
      expect(rows.filter(([kind]) => kind === 'refund')).toEqual([['refund', 10, 0]])
    })
  })
}
