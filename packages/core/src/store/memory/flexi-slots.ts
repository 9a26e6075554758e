import { evictable, windowOpen } from '../algebra/index.js'
import type { Charge, CounterRef } from '../quota-store.js'
import { type Families, familyOf, type Slot, stateOf, type View } from './slot.js'

type FlexiWindow = { readonly endIfStartedNow: number }

/** A counter's flexi window: opened by its first admitted request. */
interface FlexiState extends Slot {
  readonly start: number
  readonly end: number
}

/** The flexi windows of every counter: one a counter, replaced when it is over. */
export class FlexiSlots {
  readonly #families: Families<FlexiState> = new Map()

  get size(): number {
    let size = 0
    for (const family of this.#families.values()) size += family.size
    return size
  }

  view(ref: CounterRef, window: FlexiWindow, now: number): View {
    const state = stateOf(this.#families, ref)
    if (state && windowOpen(state.end, now)) {
      return { used: state.used, reserved: state.reserved, windowStart: state.start, resetAt: state.end, slot: state, placement: state.start }
    }
    return { used: 0, reserved: 0, windowStart: now, resetAt: window.endIfStartedNow, slot: undefined, placement: now }
  }

  create(ref: CounterRef, window: FlexiWindow, now: number): Slot {
    const state: FlexiState = { start: now, end: window.endIfStartedNow, used: 0, reserved: 0 }
    familyOf(this.#families, ref.counter).set(ref.identifier, state)
    return state
  }

  /** The window a charge lands in: only the one it was placed in (a replaced window is over, its late charge cannot affect any limit). Lua twin: settle.ts (kind `x`). */
  slotAt(charge: Charge): Slot | undefined {
    const state = stateOf(this.#families, charge)
    return state?.start === charge.placement ? state : undefined
  }

  /** Drops the windows that are over and hold nothing. */
  evict(now: number): void {
    for (const [name, family] of this.#families) {
      for (const [identifier, state] of family) if (evictable(state.end, state, now)) family.delete(identifier)
      if (family.size === 0) this.#families.delete(name)
    }
  }
}
