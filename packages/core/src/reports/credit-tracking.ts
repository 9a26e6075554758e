import type { TokenQuota } from '../engine/token-quota.js'
import type { CreditMovement, CreditRecord } from './credit-usage.js'
import type { UsageStore } from './usage-store.js'

/**
 * Records a quota's credit movements into a usage store that keeps them (`addCredit`): top-ups
 * applied, what calls charged to balance policies (a spill's credit part included), expiries and
 * charges the balance could not pay, on the UTC day `today` gives. Returns the unsubscribers.
 */
export function trackCredits(quota: TokenQuota, store: UsageStore, today: () => string, write: (run: () => Promise<void>) => void): Array<() => void> {
  const addCredit = store.addCredit?.bind(store)
  if (!addCredit) return []
  const balances = new Map(quota.policies.filter((policy) => policy.type === 'balance').map((policy) => [policy.name, policy.unit]))
  if (balances.size === 0) return []
  const record = (policy: string, movement: CreditMovement, amount: number) => {
    const unit = balances.get(policy)
    if (unit === undefined || amount === 0) return
    const credit: CreditRecord = { day: today(), policy, unit, movement, amount: Math.abs(amount) }
    write(() => addCredit(credit))
  }
  return [
    quota.on('usage', (event) => {
      for (const charge of event.charges) record(charge.policy, 'spent', charge.amount)
    }),
    quota.on('creditsToppedUp', (event) => {
      if (event.applied) record(event.policy, 'granted', event.amount)
    }),
    quota.on('creditsExpired', (event) => record(event.policy, 'expired', event.amount)),
    quota.on('creditsUnpaid', (event) => record(event.policy, 'unpaid', event.amount)),
  ]
}
