import type { CounterPlan } from './request-plan.js'

/** The fill group of an allowance and the balance it spills into (`spillTo`). */
export function spillGroupOf(allowance: string): string {
  return `spill:${allowance}`
}

/**
 * Puts each allowance that spills into a balance (`spillTo`) and that balance in one fill group:
 * the allowance first, the balance right behind it with the same amount, so the store holds on
 * the allowance what fits there and the rest on the credits, and refuses (on the balance) only
 * when both together cannot hold it. A balance nobody in this request spills into stays on its own.
 * A policy that spills never shares its counter, so its counter has it as its one target.
 */
export function withSpillGroups(counters: readonly CounterPlan[]): CounterPlan[] {
  const spilledInto = new Set<string>()
  for (const counter of counters) for (const target of counter.targets) if (target.policy.spillTo !== undefined) spilledInto.add(target.policy.spillTo)
  const balanceOf = new Map<string, CounterPlan>()
  for (const counter of counters) {
    const { policy } = counter.targets[0]!
    if (policy.type === 'balance' && spilledInto.has(policy.name)) balanceOf.set(policy.name, counter)
  }
  const grouped: CounterPlan[] = []
  for (const counter of counters) {
    const { policy } = counter.targets[0]!
    if (balanceOf.has(policy.name)) continue
    const balance = policy.spillTo === undefined ? undefined : balanceOf.get(policy.spillTo)
    if (!balance) {
      grouped.push(counter)
      continue
    }
    const group = spillGroupOf(policy.name)
    grouped.push({ ...counter, group }, { ...balance, group, amount: counter.amount })
  }
  return grouped
}
