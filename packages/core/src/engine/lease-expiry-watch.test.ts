import { describe, expect, it } from 'vitest'
import { LeaseExpiryWatch, type Watched } from './lease-expiry-watch.js'

describe('LeaseExpiryWatch', () => {
  it('reports only the unsettled leases, once each, when they expire — through compactions of thousands of settled ones', () => {
    let now = 0
    const expired: string[] = []
    const watch = new LeaseExpiryWatch<Watched>({
      checkEveryMs: 60_000,
      now: () => now,
      pendingWrites: () => 0,
      onExpired: (lease) => expired.push(lease.leaseId),
    })
    const leases: Watched[] = Array.from({ length: 5000 }, (_, index) => ({ leaseId: `l${index}`, expiresAt: 1000 + index }))
    for (const lease of leases) watch.watch(lease)
    // The oldest stays open while every other is settled, newest first: the queue compacts behind it.
    for (const lease of leases.slice(1).reverse()) if (lease.leaseId !== 'l2500') watch.settled(lease)
    watch.check(999)
    expect(expired).toEqual([])
    now = 1000 + 4999
    watch.check(now)
    expect(expired).toEqual(['l0', 'l2500'])
    watch.settled(leases[0]!) // a late settle of an expired lease changes nothing
    watch.check(now + 1)
    expect(expired).toEqual(['l0', 'l2500'])
    watch.stop()
  })
})
