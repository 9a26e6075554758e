import type { PriceSource } from '../price/price-table.js'
import { LeaseSettledError, QuotaInputError } from '../shared/errors.js'
import type { PolicyDecision } from '../plan/decision.js'
import type { QuotaContext, Usage } from '../shared/types.js'

/** What a settled lease charged. */
/** One policy's charge for a call, in its unit (tokens, requests, or US dollars). */
export interface PolicyCharge {
  readonly policy: string
  readonly identifier: string | null
  readonly amount: number
  readonly unit: 'tokens' | 'requests' | 'usd'
}

/** What a call cost in US dollars, and which price said so (present when a money policy applied). */
export interface CallCost {
  readonly usd: number
  readonly price: PriceSource
}

export interface CommitResult {
  /** Per policy that counts: what was charged, in its unit. */
  readonly charges: readonly PolicyCharge[]
  /** `true` when the charge is an estimate: no usage was given, or the caller marked it estimated. */
  readonly estimated: boolean
  /** The call's price, when a money policy applied (a table's price, or the policy's `unpriced` rate). */
  readonly cost?: CallCost
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
  /**
   * Keeps the reservation `ms` longer from now (a long call, a stream, an agent's budget): the
   * store then charges or returns it at the new `expiresAt` if it is never settled. Resolves
   * `false`, changing nothing, when the store no longer holds the lease (it expired).
   * @throws LeaseSettledError when already settled; QuotaInputError (`InvalidLease`) when `ms` is not a positive number of ms up to 366 days.
   */
  extend(ms: number): Promise<boolean>
}

/**
 * How the engine settles its leases. One object serves every lease of an engine (no closures per
 * lease); a memory store answers synchronously, so the results may be plain values.
 */
export interface LeaseSettlement<Reservation> {
  commit(reservation: Reservation, usage: Usage | undefined, options: CommitOptions | undefined): CommitResult | Promise<CommitResult>
  release(reservation: Reservation): void | Promise<void>
  extend(reservation: Reservation, ms: number): Promise<boolean>
  decisions(reservation: Reservation): readonly PolicyDecision[]
}

/** What a lease shows of the engine's reservation. */
export interface LeaseFields {
  readonly leaseId: string
  readonly context: QuotaContext
  readonly model: string | undefined
  readonly expiresAt: number
  readonly maxOutputTokens: number | undefined
}

/** The engine's lease: settles once through `settlement`; decisions are computed when first read. */
export class Lease<Reservation extends LeaseFields> implements QuotaLease {
  readonly #reservation: Reservation
  readonly #settlement: LeaseSettlement<Reservation>
  #decisions: readonly PolicyDecision[] | undefined
  #state: QuotaLease['state'] = 'pending'
  #inFlight: 'commit' | 'release' | undefined

  constructor(reservation: Reservation, settlement: LeaseSettlement<Reservation>) {
    this.#reservation = reservation
    this.#settlement = settlement
  }

  get id(): string {
    return this.#reservation.leaseId
  }

  get context(): QuotaContext {
    return this.#reservation.context
  }

  get model(): string | undefined {
    return this.#reservation.model
  }

  get expiresAt(): number {
    return this.#reservation.expiresAt
  }

  get maxOutputTokens(): number | undefined {
    return this.#reservation.maxOutputTokens
  }

  get decisions(): readonly PolicyDecision[] {
    this.#decisions ??= this.#settlement.decisions(this.#reservation)
    return this.#decisions
  }

  get state(): QuotaLease['state'] {
    return this.#state
  }

  #begin(attempted: 'commit' | 'release'): void {
    if (this.#state !== 'pending') throw new LeaseSettledError({ leaseId: this.id, settledAs: this.#state, attempted })
    if (this.#inFlight) throw new LeaseSettledError({ leaseId: this.id, settledAs: this.#inFlight === 'commit' ? 'committed' : 'released', attempted })
    this.#inFlight = attempted
  }

  async commit(usage?: Usage, options?: CommitOptions): Promise<CommitResult> {
    this.#begin('commit')
    try {
      const settling = this.#settlement.commit(this.#reservation, usage, options)
      const result = settling instanceof Promise ? await settling : settling
      this.#state = 'committed'
      return result
    } finally {
      this.#inFlight = undefined
    }
  }

  async extend(ms: number): Promise<boolean> {
    checkLifetime(ms)
    if (this.#state !== 'pending') throw new LeaseSettledError({ leaseId: this.id, settledAs: this.#state, attempted: 'extend' })
    return this.#settlement.extend(this.#reservation, ms)
  }

  async release(): Promise<void> {
    this.#begin('release')
    try {
      await this.#settlement.release(this.#reservation)
      this.#state = 'released'
    } finally {
      this.#inFlight = undefined
    }
  }
}

/**
 * The longest lease lifetime: 366 days. Longer ones are refused before the store sees them, as a
 * store may not hold them (Redis fails on an expiry past 2^63 ms, midway through its script).
 */
export const maxLeaseTtlMs = 366 * 86_400_000

/** Whether `ms` is a lease lifetime: a positive number of ms, at most {@link maxLeaseTtlMs}. */
export function isLifetime(ms: unknown): ms is number {
  return typeof ms === 'number' && ms > 0 && ms <= maxLeaseTtlMs
}

/** A lease lifetime a caller gave (`reserve`'s `leaseTtlMs`, `lease.extend`): a positive number of ms, at most a year. */
export function checkLifetime(ms: unknown): void {
  if (isLifetime(ms)) return
  throw new QuotaInputError({
    code: 'InvalidLease',
    message: `Expected a lease lifetime in positive ms, at most ${maxLeaseTtlMs} (366 days), got \`${String(ms)}\``,
  })
}
