import { QuotaConfigError } from '../../shared/errors.js'
import type { Charge, CounterRef, WindowSpec } from '../quota-store.js'
import { FixedSlots } from './fixed-slots.js'
import { FlexiSlots } from './flexi-slots.js'
import { RollingSlots } from './rolling-slots.js'
import type { Slot, View } from './slot.js'

/** Every counter's windows in this process's memory, by window kind. */
export class CounterSlots {
  readonly #fixed = new FixedSlots()
  readonly #flexi = new FlexiSlots()
  readonly #rolling = new RollingSlots()

  /** Live slots: fixed and flexi windows plus rolling buckets. */
  get size(): number {
    return this.#fixed.size + this.#flexi.size + this.#rolling.size
  }

  /** A counter at `now`. A rolling window's reset time needs every bucket: `NaN` unless `exactReset` (see `exact`). Lua twin: `view` (redis/lua/common.ts). */
  view(counter: CounterRef, now: number, exactReset = true): View {
    const { window } = counter
    if (window.kind === 'fixed') return this.#fixed.view(counter, window)
    if (window.kind === 'flexi') return this.#flexi.view(counter, window, now)
    return this.#rolling.view(counter, rollingOnly(window), now, exactReset)
  }

  /** The view with its exact reset time. */
  exact(counter: CounterRef, view: View, now: number): View {
    const { window } = counter
    if (window.kind !== 'rolling' || !Number.isNaN(view.resetAt)) return view
    return { ...view, resetAt: this.#rolling.resetAt(counter, window, now) }
  }

  /** When a refused amount would fit on the counter, if nothing else changes. */
  retryAt(counter: CounterRef, request: { readonly amount: number; readonly limit: number }, view: View, now: number): number {
    const { window } = counter
    if (window.kind !== 'rolling') return view.resetAt
    return this.#rolling.retryAt(counter, window, request, view, now)
  }

  /** The slot a hold goes in, created where the view found none. */
  slotFor(counter: CounterRef, view: View, now: number): Slot {
    if (view.slot) return view.slot
    const { window } = counter
    if (window.kind === 'fixed') return this.#fixed.create(counter, window)
    if (window.kind === 'flexi') return this.#flexi.create(counter, window, now)
    return this.#rolling.create(counter, rollingOnly(window), now, view.placement)
  }

  /** The slot a charge lands in, created if its window was evicted but is still live. */
  slotAt(charge: Charge, now: number): Slot | undefined {
    const { window } = charge
    if (window.kind === 'fixed') return this.#fixed.slotAt(charge, window)
    if (window.kind === 'flexi') return this.#flexi.slotAt(charge)
    return this.#rolling.slotAt(charge, rollingOnly(window), charge.placement, now)
  }

  /** Zeroes the committed usage of a counter's current window; holds stay. */
  resetUsage(counter: CounterRef, now: number): void {
    if (counter.window.kind === 'rolling') {
      this.#rolling.resetUsage(counter)
      return
    }
    const slot = this.view(counter, now).slot
    if (slot) slot.used = 0
  }

  /** Drops windows and buckets that are over and hold nothing. */
  evict(now: number): void {
    this.#fixed.evict(now)
    this.#flexi.evict(now)
    this.#rolling.evict(now)
  }
}

/** Balance counters are not slots: until MemoryStore holds credits, it refuses them. */
function rollingOnly(window: WindowSpec): Extract<WindowSpec, { kind: 'rolling' }> {
  if (window.kind !== 'rolling') throw new QuotaConfigError({ code: 'InvalidConfiguration', message: `this store cannot hold a ${window.kind} counter` })
  return window
}
