import {
  addToBucket,
  advanceRolling,
  bucketInWindow,
  bucketStart,
  firstBucket,
  resetAfterHold,
  rollingPlacement,
  rollingResetAt,
  rollingRetryAt,
  type Tally,
  type TallyChange,
  windowOpen,
} from '../algebra/index.js'
import type { CounterSnapshot, WindowSpec } from '../quota-store.js'
import type { LedgerEntry } from '../credit-protocol.js'

/**
 * A counter row's state, as kept in its `jsonb` column, by window kind. The arithmetic is the
 * counter algebra's (`store/algebra`); this file only maps it onto rows.
 */
export type StoredState =
  | { readonly kind: 'fixed'; used: number; reserved: number; end: number }
  | { readonly kind: 'flexi'; start: number; end: number; used: number; reserved: number }
  | {
      readonly kind: 'rolling'
      readonly length: number
      readonly bucket: number
      counted: number
      used: number
      reserved: number
      /** Bucket start, used, reserved. */
      buckets: Array<[number, number, number]>
    }
  | BalanceRowState

/** A balance counter's row state: its holds, and its ledger's last row (so a new row is numbered without reading the ledger). */
export interface BalanceRowState {
  readonly kind: 'balance'
  reserved: number
  /** Σ remaining of its grants: the last row's `balanceAfter`. */
  balance: number
  /** The last row's `seq`. */
  seq: number
  /** Expiry rows recorded and not yet given back by a call (each is given back once). */
  unreported: LedgerEntry[]
  /** Lease id → what its expiry charge left unpaid, until its late settle (which must not refund it). */
  unpaid?: Record<string, number>
}

/** A rolling window's state in memory for one transaction: its buckets as a map. */
interface RollingMemory {
  readonly kind: 'rolling'
  readonly length: number
  readonly bucket: number
  counted: number
  used: number
  reserved: number
  readonly buckets: Map<number, Tally>
}

/** A locked counter row's state for one transaction (`undefined`: the counter has none yet). */
export type CounterState = Exclude<StoredState, { kind: 'rolling' }> | RollingMemory

/** A locked counter row: its state, and whether the transaction changed it. */
export interface CounterRow {
  state: CounterState | undefined
  dirty: boolean
}

export function loadState(stored: StoredState | null, now: number): CounterState | undefined {
  if (stored === null) return undefined
  if (stored.kind !== 'rolling') return { ...stored }
  const { buckets, ...totals } = stored
  const state: RollingMemory = { ...totals, buckets: new Map(buckets.map(([start, used, reserved]) => [start, { used, reserved }])) }
  advanceRolling(state, state.buckets, state.length, state.bucket, now)
  return state
}

export function storedState(state: CounterState | undefined): StoredState | null {
  if (state === undefined) return null
  if (state.kind !== 'rolling') return state
  const { buckets, ...totals } = state
  return { ...totals, buckets: [...buckets].map(([start, tally]) => [start, tally.used, tally.reserved]) }
}

/** A counter at `now`: its snapshot (a rolling window's `resetAt` needs every bucket: see `exactReset`), and where a hold goes. */
export interface CounterView extends CounterSnapshot {
  readonly placement: number
}

/** Twin of MemoryStore's `CounterSlots.view`, on a row's state. */
export function viewOf(state: CounterState | undefined, window: WindowSpec, now: number): CounterView {
  if (window.kind === 'fixed') {
    const tally = state?.kind === 'fixed' ? state : undefined
    return { used: tally?.used ?? 0, reserved: tally?.reserved ?? 0, windowStart: window.start, resetAt: window.end, placement: window.start }
  }
  if (window.kind === 'flexi') {
    if (state?.kind === 'flexi' && windowOpen(state.end, now)) {
      return { used: state.used, reserved: state.reserved, windowStart: state.start, resetAt: state.end, placement: state.start }
    }
    return { used: 0, reserved: 0, windowStart: now, resetAt: window.endIfStartedNow, placement: now }
  }
  if (window.kind === 'rolling') {
    const windowStart = now - window.length
    if (state?.kind !== 'rolling') return { used: 0, reserved: 0, windowStart, resetAt: now, placement: bucketStart(now, window.bucket) }
    const resetAt = rollingResetAt(state.buckets, window.length, window.bucket, now)
    return { used: state.used, reserved: state.reserved, windowStart, resetAt, placement: rollingPlacement(now, window.bucket, state.counted) }
  }
  throw new TypeError('a balance counter has no window view')
}

/** When a refused amount would fit, if nothing else changes. Twin of `CounterSlots.retryAt`. */
export function retryAtOf(
  state: CounterState | undefined,
  window: WindowSpec,
  request: { amount: number; limit: number },
  view: CounterView,
  now: number,
): number {
  if (window.kind !== 'rolling' || state?.kind !== 'rolling') return view.resetAt
  return rollingRetryAt(state.buckets, view, request, window, now, view.resetAt)
}

/** The snapshot after a hold of `amount` at the view's placement (`resetAfterHold`). */
export function heldSnapshot(view: CounterView, window: WindowSpec, amount: number): CounterSnapshot {
  const { placement, ...snapshot } = view
  if (amount === 0) return snapshot
  return { ...snapshot, reserved: view.reserved + amount, resetAt: resetAfterHold(window, placement, view.resetAt) }
}

/** The state a hold opens where the counter has none (or a flexi window that is over). */
export function openedState(state: CounterState | undefined, window: WindowSpec, view: CounterView, now: number): CounterState {
  if (window.kind === 'fixed') return state?.kind === 'fixed' ? state : { kind: 'fixed', used: 0, reserved: 0, end: window.end }
  if (window.kind === 'flexi') {
    return state?.kind === 'flexi' && state.start === view.placement ? state : { kind: 'flexi', start: view.placement, end: view.resetAt, used: 0, reserved: 0 }
  }
  if (window.kind === 'rolling') {
    if (state?.kind === 'rolling') return state
    const { length, bucket } = window
    return { kind: 'rolling', length, bucket, counted: firstBucket(length, bucket, now), used: 0, reserved: 0, buckets: new Map() }
  }
  throw new TypeError('a balance counter has no window')
}

/**
 * Applies a change where a hold was placed, or a charge lands: a fixed window's own row; a flexi
 * window only while it is the one placed in; a rolling window's bucket (its `used` only while the
 * bucket is in the window). Returns the window's used before, or `undefined` when the window the
 * change was placed in is over (a late charge there counts for nothing). Twin of MemoryStore's
 * `addTo` on the slot a hold keeps (or `slotAt` finds).
 */
export function applyAt(state: CounterState | undefined, placement: number, change: TallyChange, now: number): number | undefined {
  if (state === undefined || state.kind === 'balance') return undefined
  if (state.kind === 'flexi' && state.start !== placement) return undefined
  if (state.kind !== 'rolling') {
    const before = state.used
    state.used += change.used
    state.reserved += change.reserved
    return before
  }
  const live = bucketInWindow(placement, state.length, state.bucket, now)
  let tally = state.buckets.get(placement)
  if (!live) {
    if (tally) tally.reserved += change.reserved
    if (tally && tally.reserved === 0) state.buckets.delete(placement)
    return undefined
  }
  if (!tally) {
    tally = { used: 0, reserved: 0 }
    state.buckets.set(placement, tally)
  }
  const before = state.used
  addToBucket(state, placement, tally, change.used, change.reserved)
  return before
}

/** Zeroes the committed usage of the counter's current window; holds stay. Twin of `CounterSlots.resetUsage`. */
export function resetUsed(state: CounterState | undefined, window: WindowSpec, now: number): void {
  if (state === undefined || state.kind === 'balance') return
  if (state.kind === 'rolling') {
    for (const tally of state.buckets.values()) tally.used = 0
    state.used = 0
    return
  }
  if (state.kind === 'flexi' && !windowOpen(state.end, now)) return
  if (state.kind === 'fixed' && window.kind !== 'fixed') return
  state.used = 0
}
