import { advanceRolling, bucketInWindow, bucketStart, firstBucket, rollingPlacement, rollingResetAt, rollingRetryAt } from '../algebra/index.js'
import type { CounterRef } from '../quota-store.js'
import { type Bucket, type Families, familyOf, type RollingState, type Slot, stateOf, type View } from './slot.js'

type RollingWindow = { readonly length: number; readonly bucket: number }

/** The rolling windows of every counter, each a map of buckets with running totals. */
export class RollingSlots {
  readonly #families: Families<RollingState> = new Map()

  get size(): number {
    let size = 0
    for (const family of this.#families.values()) for (const state of family.values()) size += state.buckets.size
    return size
  }

  /** The window at `now`; its reset time needs every bucket, so it is `NaN` unless `exactReset`. */
  view(ref: CounterRef, window: RollingWindow, now: number, exactReset: boolean): View {
    const state = this.#advanced(ref, window, now)
    const windowStart = now - window.length
    if (!state) return { used: 0, reserved: 0, windowStart, resetAt: now, slot: undefined, placement: bucketStart(now, window.bucket) }
    const resetAt = exactReset ? rollingResetAt(state.buckets, window.length, window.bucket, now) : NaN
    const placement = rollingPlacement(now, window.bucket, state.counted)
    return { used: state.used, reserved: state.reserved, windowStart, resetAt, slot: state.buckets.get(placement), placement }
  }

  /** When the window is back to zero. */
  resetAt(ref: CounterRef, window: RollingWindow, now: number): number {
    const state = stateOf(this.#families, ref)
    return state ? rollingResetAt(state.buckets, window.length, window.bucket, now) : now
  }

  /** When a refused amount would fit (`view`: the window's totals at `now`). */
  retryAt(ref: CounterRef, window: RollingWindow, request: { readonly amount: number; readonly limit: number }, view: View, now: number): number {
    const state = stateOf(this.#families, ref)
    if (!state) return now
    return rollingRetryAt(state.buckets, view, request, window, now, rollingResetAt(state.buckets, window.length, window.bucket, now))
  }

  create(ref: CounterRef, window: RollingWindow, now: number, placement: number): Slot {
    const family = familyOf(this.#families, ref.counter)
    let state = family.get(ref.identifier)
    if (!state) {
      state = {
        length: window.length,
        bucket: window.bucket,
        buckets: new Map(),
        counted: firstBucket(window.length, window.bucket, now),
        used: 0,
        reserved: 0,
      }
      family.set(ref.identifier, state)
    }
    const slot: Bucket = { used: 0, reserved: 0, start: placement, state }
    state.buckets.set(placement, slot)
    return slot
  }

  /** The bucket a charge lands in (created again if it was evicted); none once it has left the window. Lua twin: settle.ts (kind `r`). */
  slotAt(ref: CounterRef, window: RollingWindow, placement: number, now: number): Slot | undefined {
    if (!bucketInWindow(placement, window.length, window.bucket, now)) return undefined
    return stateOf(this.#families, ref)?.buckets.get(placement) ?? this.create(ref, window, now, placement)
  }

  /** Zeroes the window's committed usage; holds stay. */
  resetUsage(ref: CounterRef): void {
    const state = stateOf(this.#families, ref)
    if (!state) return
    for (const bucket of state.buckets.values()) bucket.used = 0
    state.used = 0
  }

  /** Moves every window to `now` and drops the buckets that left it and hold nothing. */
  evict(now: number): void {
    for (const [name, family] of this.#families) {
      for (const [identifier, state] of family) {
        advanceRolling(state, state.buckets, state.length, state.bucket, now)
        for (const [start, slot] of state.buckets) if (start < state.counted && slot.reserved === 0) state.buckets.delete(start)
        if (state.buckets.size === 0) family.delete(identifier)
      }
      if (family.size === 0) this.#families.delete(name)
    }
  }

  #advanced(ref: CounterRef, window: RollingWindow, now: number): RollingState | undefined {
    const state = stateOf(this.#families, ref)
    if (state) advanceRolling(state, state.buckets, window.length, window.bucket, now)
    return state
  }
}
