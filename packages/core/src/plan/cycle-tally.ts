// A cycle tally: what a rollover policy's caller used in a cycle, kept one cycle longer than the
// cycle's own counter (stores drop a fixed window soon after it ends), so the next cycle's first
// request can still read it.
import { type PolicyTarget, targetWindow } from '../policy/identifier.js'
import type { WindowSpec } from '../store/counter-ref.js'
import type { CounterPlan } from './request-plan.js'

type FixedSpec = Extract<WindowSpec, { kind: 'fixed' }>

/** Counter family of a tally: `@` is in no policy name, so it never meets a policy's counters. */
export function tallyCounter(counter: string): string {
  return `${counter}@cycle`
}

/** The tally of the cycle `cycle` of an anchored target: same start, kept until the next cycle ends. */
export function tallyWindow(target: Pick<PolicyTarget, 'policy' | 'anchorDay'>, cycle: FixedSpec): FixedSpec {
  const next = target.policy.window(cycle.end, target.anchorDay) as FixedSpec
  return { kind: 'fixed', start: cycle.start, end: next.end }
}

/** The tallies a request charges beside its counters: one per rollover policy whose caller has an anchor. */
export function tallyPlans(counters: readonly CounterPlan[], at: number): CounterPlan[] {
  const tallies: CounterPlan[] = []
  for (const counter of counters) {
    for (const target of counter.targets) {
      if (target.policy.rollover === undefined || target.anchorDay === undefined || !target.policy.counts) continue
      tallies.push({
        targets: [],
        tallyOf: target,
        counting: true,
        reportUsed: false,
        counter: tallyCounter(target.counter),
        identifier: target.identifierKey,
        window: tallyWindow(target, targetWindow(target, at) as FixedSpec),
        limit: undefined,
        amount: counter.amount,
        hold: counter.hold,
      })
    }
  }
  return tallies
}
