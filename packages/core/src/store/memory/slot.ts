import { addToBucket, type RollingTotals, type Tally, type TallyChange } from '../algebra/index.js'
import type { CounterRef, CounterSnapshot } from '../quota-store.js'

/** Where a hold or a charge lands: a fixed or flexi window, or a rolling window's bucket. */
export type Slot = Tally

/** A rolling window's bucket: its changes also go to the window's totals while it is counted. */
export interface Bucket extends Tally {
  readonly start: number
  readonly state: RollingState
}

/** A rolling window of one counter: its buckets, and the totals of those still counted. */
export interface RollingState extends RollingTotals {
  readonly length: number
  readonly bucket: number
  /** Bucket start → tokens. At most `length / bucket + 1` live buckets, plus left ones that still hold. */
  readonly buckets: Map<number, Bucket>
}

/** A counter resolved to its live state for one operation: its snapshot, and where a hold goes. */
export interface View extends CounterSnapshot {
  /** Where a hold goes: `undefined` when the window does not exist yet and must be created. */
  readonly slot: Slot | undefined
  readonly placement: number
}

/** Counter family → identifier → state: two short lookups instead of one on a long composed key. */
export type Families<State> = Map<string, Map<string, State>>

/** The state of one counter, if it has any. */
export function stateOf<State>(families: Families<State>, ref: Pick<CounterRef, 'counter' | 'identifier'>): State | undefined {
  return families.get(ref.counter)?.get(ref.identifier)
}

/** A counter family's map, created when it has none yet. */
export function familyOf<State>(families: Families<State>, name: string): Map<string, State> {
  let family = families.get(name)
  if (!family) {
    family = new Map()
    families.set(name, family)
  }
  return family
}

/** Applies a change to a slot (a rolling bucket's also to its window's totals). */
export function addTo(slot: Slot, change: TallyChange): void {
  const { state, start } = slot as Partial<Bucket>
  if (state !== undefined) {
    addToBucket(state, start!, slot, change.used, change.reserved)
    return
  }
  slot.used += change.used
  slot.reserved += change.reserved
}

export function snapshotOf(view: View): CounterSnapshot {
  return { used: view.used, reserved: view.reserved, windowStart: view.windowStart, resetAt: view.resetAt }
}
