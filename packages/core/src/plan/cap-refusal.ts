import type { TokenQuotaExceededError } from '../shared/errors.js'
import type { CounterRef } from '../store/quota-store.js'

/** The counter a per-request cap refused on, and what the request needed against which cap. */
export interface CapRefusal {
  readonly ref: CounterRef
  readonly requested: number
  readonly limit: number
}

const capRefusals = new WeakMap<TokenQuotaExceededError, CapRefusal>()

/** A `RequestTooLarge` refusal of a per-request cap, with its counter (recorded like a store refusal). */
export function withCapRefusal(error: TokenQuotaExceededError, refusal: CapRefusal): TokenQuotaExceededError {
  capRefusals.set(error, refusal)
  return error
}

/** The counter of a per-request cap's refusal, when `error` is one. */
export function capRefusalOf(error: unknown): CapRefusal | undefined {
  return typeof error === 'object' && error !== null ? capRefusals.get(error as TokenQuotaExceededError) : undefined
}
