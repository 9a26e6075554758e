import { LeaseSettledError } from './errors.js'
import type { PolicyDecision } from './decision.js'
import type { QuotaContext, Usage } from './types.js'

/** What a settled lease charged. */
export interface CommitResult {
  /** Per policy that counts: what was charged, in its unit. */
  readonly charges: ReadonlyArray<{ readonly policy: string; readonly identifier: string | null; readonly amount: number }>
  /** `true` when the charge is an estimate: no usage was given, or the caller marked it estimated. */
  readonly estimated: boolean
}

export interface CommitOptions {
  /** The usage is the caller's estimate, not the provider's report (it shows in the `usage` event). */
  readonly estimated?: boolean
}

/**
 * Capacity held for one model call. Settle it exactly once: `commit(usage)` with the provider's
 * real usage, `commit()` to charge the reservation itself, or `release()` when the call failed
 * before using tokens. An unsettled lease expires after the quota's `leaseTtlMs`.
 */
export interface QuotaLease {
  readonly id: string
  readonly context: QuotaContext
  readonly model: string | undefined
  /** Epoch ms after which the store returns the held capacity on its own. */
  readonly expiresAt: number
  /** Set when a `clamp` cap lowered the request's output budget: send at most this many output tokens. */
  readonly maxOutputTokens: number | undefined
  /** Per applicable policy: its state right after the reservation. */
  readonly decisions: readonly PolicyDecision[]
  /** `pending` until settled. */
  readonly state: 'pending' | 'committed' | 'released'
  /**
   * Replaces the reservation by real usage. Without usage, charges the reservation (use it when
   * the provider reported nothing: never charge zero for a call that ran).
   * @throws LeaseSettledError when already settled; QuotaInputError for malformed usage (the lease stays pending).
   */
  commit(usage?: Usage, options?: CommitOptions): Promise<CommitResult>
  /** Returns the reservation unused. @throws LeaseSettledError when already settled. */
  release(): Promise<void>
}

export interface LeaseSettlement {
  commit(usage: Usage | undefined, options: CommitOptions): Promise<CommitResult>
  release(): Promise<void>
}

export function createLease(
  fields: Omit<QuotaLease, 'state' | 'commit' | 'release'>,
  settlement: LeaseSettlement,
): QuotaLease {
  let state: QuotaLease['state'] = 'pending'
  let inFlight: 'commit' | 'release' | undefined

  function begin(attempted: 'commit' | 'release'): void {
    if (state !== 'pending') throw new LeaseSettledError({ leaseId: fields.id, settledAs: state, attempted })
    if (inFlight) throw new LeaseSettledError({ leaseId: fields.id, settledAs: inFlight === 'commit' ? 'committed' : 'released', attempted })
    inFlight = attempted
  }

  return {
    ...fields,
    get state() {
      return state
    },
    async commit(usage?: Usage, options: CommitOptions = {}) {
      begin('commit')
      try {
        const result = await settlement.commit(usage, options)
        state = 'committed'
        return result
      } finally {
        inFlight = undefined
      }
    },
    async release() {
      begin('release')
      try {
        await settlement.release()
        state = 'released'
      } finally {
        inFlight = undefined
      }
    },
  }
}
