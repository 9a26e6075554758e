import type { ModelPricing } from '../price/price-table.js'
import type { AnchorSource } from './anchor.js'
import type { ResourceSelector } from './resource.js'
import type { RolloverConfig } from './rollover.js'
import type { CountMode, MaxTokensPerRequest, QuotaThreshold, UnidentifiedPolicy } from './policy-types.js'
import type { WindowSpec } from '../store/quota-store.js'
import type { EstimateBound, MaybePromise, NormalizedUsage, QuotaContext, QuotaMode, QuotaType, TimeUnit } from '../shared/types.js'

/** A validated, frozen policy with its behaviour compiled. */
export interface NormalizedPolicy {
  readonly name: string
  /** `sharedName` or `name`: policies with the same one share a counter. */
  readonly sharedName: string
  /** The counter's name in the store: `sharedName`, or for a money policy {@link moneyCounterName} of it. */
  readonly counterName: string
  /** The window's type, or `balance` for a credit balance (no window). */
  readonly type: PolicyType
  /** `undefined` for a balance. */
  readonly interval: number | undefined
  /** `undefined` for a balance. */
  readonly timeUnit: TimeUnit | undefined
  readonly startTime: number | undefined
  /** `default` only: the IANA zone of its windows' boundaries (`undefined`: UTC). */
  readonly timeZone: string | undefined
  /** Billing cycles: where each identifier's anchor comes from (`undefined`: windows on the calendar). */
  readonly anchor: AnchorSource | undefined
  /** Part of a cycle's unused allowance that becomes credits (anchored policies only). */
  readonly rollover: RolloverConfig | undefined
  readonly mode: QuotaMode
  readonly enforces: boolean
  readonly counts: boolean
  readonly allow: number | ((context: QuotaContext) => MaybePromise<number>) | NormalizedClassAllow
  readonly identifier: string | ((context: QuotaContext) => unknown) | undefined
  readonly unidentified: UnidentifiedPolicy
  readonly count: CountMode
  /** Which requests it applies to: model calls (all, or its `models`) or tool calls (its `tools`). */
  readonly resource: ResourceSelector
  /** Sorted by `at`. */
  readonly thresholds: readonly QuotaThreshold[]
  readonly maxTokensPerRequest: Required<MaxTokensPerRequest> | undefined
  /** Where the counter lives at `now`; for an identifier with an anchor (`PolicyTarget.anchorDay`), its billing cycle. */
  window(now: number, anchorDay?: number): WindowSpec
  /** What its counters hold: tokens (or weighted tokens), requests, or US dollars (in units of 1e-8). */
  readonly unit: PolicyUnit
  /** Counter units per reported unit: 100,000,000 for dollars (ten nano-dollars), else 1. */
  readonly scale: number
  /** `count: 'usd'`: the price of a model no table knows, if the policy names one. */
  readonly unpriced: ModelPricing | undefined
  /** The balance policy (`type: 'balance'`) this one spills into once its allowance is spent. */
  readonly spillTo: string | undefined
  /** A balance's `creditsLow` level, in counter units. */
  readonly lowAt: number | undefined
  /** Charge for real usage, in counter units. `pricing`: the model's, for a money policy (else its `unpriced` rate). */
  charge(usage: NormalizedUsage, pricing?: ModelPricing): number
  /** Upper bound of the charge for a request with this estimate, in counter units. */
  chargeBound(estimate: EstimateBound, pricing?: ModelPricing): number
}

/** A policy's `type`: its window's, or `balance` (a prepaid credit balance, no window). */
export type PolicyType = QuotaType | 'balance'

/** What a policy's counters count. */
export type PolicyUnit = 'tokens' | 'requests' | 'usd'

/** An amount in counter units, in the policy's unit: dollars for a money policy, else as counted. */
export function inPolicyUnit(policy: Pick<NormalizedPolicy, 'scale'>, amount: number): number {
  return policy.scale === 1 ? amount : amount / policy.scale
}

export interface NormalizedClassAllow {
  readonly class: (context: QuotaContext) => unknown
  readonly counts: ReadonlyMap<string, number>
  /** Every class charges the policy's one counter (a plan change keeps the cycle's usage). */
  readonly shareCounter: boolean
}

export function isClassAllow(allow: NormalizedPolicy['allow']): allow is NormalizedClassAllow {
  return typeof allow === 'object'
}
