import type { PolicyType } from '../policy/normalized-policy.js'
import type { QuotaMode } from '../shared/types.js'

/**
 * One policy's counter for one request: the data Apigee exposes as `ratelimit.<policy>.*`.
 * Returned by `quota.status()`, `quota.check()` and in `lease.decisions`.
 */
export interface PolicyDecision {
  /** The policy's name. */
  readonly name: string
  /** Same as `name`. */
  readonly policy: string
  /** The policy's window type, or `balance` for a credit balance. */
  readonly type: PolicyType
  readonly mode: QuotaMode
  /** The identifier counted for (`null`: one counter shared by everyone). */
  readonly identifier: string | null
  /** The class the limit came from, for class-based `allow`. */
  readonly class: string | undefined
  /** What `allowed`, `used`, `reserved` and `available` count: tokens, requests, or US dollars (`count: 'usd'`). */
  readonly unit: 'tokens' | 'requests' | 'usd'
  /** Allowed in the window (tokens, or dollars for a money policy). */
  readonly allowed: number
  /** Committed in the window. */
  readonly used: number
  /** Held by unsettled reservations. */
  readonly reserved: number
  /** `allowed - used - reserved`, never negative. */
  readonly available: number
  readonly windowStart: number
  /** When the counter is back to zero (window end; for a rolling window, when its newest tokens leave it). */
  readonly resetAt: number
  /**
   * Reservations this counter refused in its current window, counted in the store (by every
   * process): Apigee's exceed count. In `status()` and `admin.inspect()` only. For a rolling window,
   * those since the first refusal still inside it.
   */
  readonly refusals?: number
}
