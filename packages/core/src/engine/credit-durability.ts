import type { QuotaStore } from '../store/quota-store.js'
import type { QuotaEvents } from './events.js'

/**
 * Warns (`VolatileCredits`) when balance policies keep their credits in a store that loses them
 * on a restart unless the server persists every write (RedisStore, UpstashStore: AOF). Paid
 * credits are money: an operator must know before the first top-up, not after a restart.
 */
export function warnVolatileCredits(policies: ReadonlyArray<{ readonly name: string; readonly type: string }>, store: QuotaStore, events: QuotaEvents): void {
  if (store.creditDurability !== 'volatile') return
  const balances = policies.filter((policy) => policy.type === 'balance').map((policy) => `"${policy.name}"`)
  if (balances.length === 0) return
  events.emit('warning', {
    code: 'VolatileCredits',
    message: `Balance ${balances.length === 1 ? 'policy' : 'policies'} ${balances.join(', ')} keep paid credits in ${store.constructor?.name ?? 'this store'}: they survive a restart of the server only with AOF persistence (\`appendonly yes\` with \`appendfsync everysec\` or \`always\`) and no eviction of keys without a TTL`,
  })
}
