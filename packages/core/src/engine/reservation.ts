import type { LeaseFields } from './lease.js'
import type { RequestPlan } from '../plan/request-plan.js'
import type { CounterSnapshot, StoreHold } from '../store/quota-store.js'
import type { EstimateBound } from '../shared/types.js'

/** A successful reservation, as the store placed it: what its lease settles. */
export interface Reservation extends LeaseFields {
  readonly requestPlan: RequestPlan
  readonly placements: readonly number[]
  /** Per counter: what the store held (its `ReserveResult.held`), returned when settling. */
  readonly held: readonly number[]
  readonly snapshots: readonly CounterSnapshot[]
  /** The estimate, lowered by a `clamp` cap: what `commit()` without usage charges. */
  readonly bound: EstimateBound
  /** Held in the local fallback store because the primary one failed (`failureMode: 'open'`). */
  readonly local: boolean
  /** The store's handle on the hold, given back when settling. */
  readonly hold: StoreHold | undefined
  /** When the store charges (or returns) the holds on its own: moved by `lease.extend()`. */
  expiresAt: number
  /** Watched for expiry, not settled yet (`LeaseExpiryWatch`). */
  open?: boolean
}
