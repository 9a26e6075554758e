import { evictable } from '../algebra/index.js'
import type { CounterRef } from '../quota-store.js'
import { type Families, familyOf, type Slot, stateOf, type View } from './slot.js'

type FixedWindow = { readonly start: number; readonly end: number }

/** One fixed window of a counter. A counter's windows form a list, newest first (usually one long). */
interface FixedSlot extends Slot {
  readonly start: number
  readonly end: number
  older: FixedSlot | undefined
}

/** The fixed windows (`default` and `calendar` policies) of every counter. */
export class FixedSlots {
  readonly #families: Families<FixedSlot> = new Map()

  get size(): number {
    let size = 0
    for (const family of this.#families.values()) {
      for (const newest of family.values()) for (let slot: FixedSlot | undefined = newest; slot; slot = slot.older) size += 1
    }
    return size
  }

  view(ref: CounterRef, window: FixedWindow): View {
    const slot = this.#find(ref, window.start)
    return { used: slot?.used ?? 0, reserved: slot?.reserved ?? 0, windowStart: window.start, resetAt: window.end, slot, placement: window.start }
  }

  create(ref: CounterRef, window: FixedWindow): Slot {
    const family = familyOf(this.#families, ref.counter)
    const slot: FixedSlot = { start: window.start, end: window.end, used: 0, reserved: 0, older: family.get(ref.identifier) }
    family.set(ref.identifier, slot)
    return slot
  }

  /** The window a charge lands in, created again if it was evicted. */
  slotAt(ref: CounterRef, window: FixedWindow): Slot {
    return this.#find(ref, window.start) ?? this.create(ref, window)
  }

  /** Drops the windows that are over and hold nothing. */
  evict(now: number): void {
    for (const [name, family] of this.#families) {
      for (const [identifier, newest] of family) {
        let kept: FixedSlot | undefined
        let last: FixedSlot | undefined
        for (let slot: FixedSlot | undefined = newest; slot; slot = slot.older) {
          if (evictable(slot.end, slot, now)) continue
          if (last) last.older = slot
          else kept = slot
          last = slot
        }
        if (last) last.older = undefined
        if (kept) family.set(identifier, kept)
        else family.delete(identifier)
      }
      if (family.size === 0) this.#families.delete(name)
    }
  }

  #find(ref: CounterRef, start: number): FixedSlot | undefined {
    let slot = stateOf(this.#families, ref)
    while (slot && slot.start !== start) slot = slot.older
    return slot
  }
}
