import { effectiveLimit, fillShares, fits, overridesFor } from '../algebra/index.js'
import type { CounterRefusal, CounterRequest, CounterSnapshot, ReserveResult, StoreReserveRequest } from '../quota-store.js'
import type { TargetOverrides } from '../store-admin.js'
import { applyAt, type CounterView, heldSnapshot, openedState, retryAtOf, viewOf } from './counter-state.js'
import type { LeaseHoldOn, LockedCounters } from './locked-counters.js'
import { targetKey } from './row-keys.js'

type Placed = Extract<ReserveResult, { ok: true }>

/** Per counter of a request: its row key, view and the limit in force. */
export interface ReserveInputs {
  readonly keys: readonly string[]
  readonly views: readonly CounterView[]
  readonly limits: ReadonlyArray<number | undefined>
}

/** The override targets of counters: their identifiers' and their families'. */
export function targetsOf(counters: ReadonlyArray<Pick<CounterRequest, 'counter' | 'identifier'>>, shard: string | undefined): string[] {
  return counters.flatMap((counter) => [targetKey(shard, counter.counter, counter.identifier), targetKey(shard, counter.counter, '')])
}

/** The limit a counter meets at `now`: the request's, with the operators' overrides. Twin of `MemoryAdminBook.limitOf`. */
export function limitInForce(
  counter: Pick<CounterRequest, 'counter' | 'identifier' | 'limit'>,
  overrides: Map<string, TargetOverrides>,
  shard: string | undefined,
  now: number,
): number | undefined {
  if (counter.limit === undefined || overrides.size === 0) return counter.limit
  const found = overridesFor(counter.identifier, (identifier) => overrides.get(targetKey(shard, counter.counter, identifier)))
  return found ? effectiveLimit(counter.limit, found, now) : counter.limit
}

/** The snapshot with the limit in force, when an override changes the request's. */
export function withLimit(snapshot: CounterSnapshot, limit: number | undefined, requested: number | undefined): CounterSnapshot {
  return limit === requested ? snapshot : { ...snapshot, limit }
}

/** Per counter, what the reservation holds or checks: its amount, or in a fill group its share (`fillShares`). */
export function amountsOf(counters: readonly CounterRequest[], inputs: ReserveInputs): number[] {
  if (!counters.some((counter) => counter.group !== undefined)) return counters.map((counter) => counter.amount)
  return fillShares(counters, (index) => {
    const limit = inputs.limits[index]
    const view = inputs.views[index]!
    return limit === undefined ? Number.POSITIVE_INFINITY : limit - view.used - view.reserved
  })
}

/** The counters the request does not fit on; `undefined` when it fits on all. Twin of MemoryStore's `#refusals`. */
export function refusalsOf(
  request: StoreReserveRequest,
  locked: LockedCounters,
  inputs: ReserveInputs,
  amounts: readonly number[],
): CounterRefusal[] | undefined {
  let refusals: CounterRefusal[] | undefined
  request.counters.forEach((counter, index) => {
    const view = inputs.views[index]!
    const limit = inputs.limits[index]
    const amount = amounts[index]!
    if (limit === undefined || fits(view.used, view.reserved, amount, limit)) return
    const { placement: _, ...snapshot } = view
    const retryAt = retryAtOf(locked.rows.get(inputs.keys[index]!)!.state, counter.window, { amount, limit }, view, request.now)
    refusals ??= []
    refusals.push({ index, snapshot: snapshotOf(locked, inputs.keys[index]!, counter, snapshot, limit), retryAt })
  })
  return refusals
}

/** Holds every counter's amount (the request fits on all): the answer, and what the lease holds per counter. */
export function holdAll(
  request: StoreReserveRequest,
  locked: LockedCounters,
  inputs: ReserveInputs,
  amounts: readonly number[],
): { answer: Placed; holds: Array<LeaseHoldOn | null> } {
  const { now } = request
  const placements: number[] = []
  const held: number[] = []
  const snapshots: CounterSnapshot[] = []
  const holds: Array<LeaseHoldOn | null> = []
  request.counters.forEach((counter, index) => {
    const key = inputs.keys[index]!
    const view = inputs.views[index]!
    const amount = counter.hold ? amounts[index]! : 0
    placements.push(view.placement)
    held.push(amount)
    snapshots.push(snapshotOf(locked, key, counter, heldSnapshot(view, counter.window, amount), inputs.limits[index]))
    holds.push(counter.hold ? { key, placement: view.placement, amount } : null)
    if (!counter.hold) return
    if (counter.window.kind === 'balance') {
      locked.balances.hold(key, amount)
      return
    }
    locked.change(key, (row) => {
      row.state = openedState(row.state, counter.window, view, now)
      applyAt(row.state, view.placement, { used: 0, reserved: amount }, now)
    })
  })
  return { answer: { ok: true, placements, held, snapshots }, holds }
}

/** Per counter of a request: its view at `now` on the locked row (a balance's: its balance as limit). */
export function viewsOf(request: StoreReserveRequest, locked: LockedCounters, keys: readonly string[]): CounterView[] {
  return request.counters.map((counter, index) =>
    counter.window.kind === 'balance' ? locked.balances.view(keys[index]!) : viewOf(locked.rows.get(keys[index]!)!.state, counter.window, request.now),
  )
}

/** Per counter: the limit it meets — a balance's balance, else the request's with the overrides in force. */
export function limitsOf(request: StoreReserveRequest, views: readonly CounterView[], overrides: Map<string, TargetOverrides>): Array<number | undefined> {
  return request.counters.map((counter, index) =>
    counter.window.kind === 'balance' ? views[index]!.limit : limitInForce(counter, overrides, request.shard, request.now),
  )
}

/** A counter's snapshot as a call gives it back: a balance's with its balance and the expiries not yet told, else with the limit in force. */
export function snapshotOf(
  locked: LockedCounters,
  key: string,
  counter: Pick<CounterRequest, 'window' | 'limit'>,
  snapshot: CounterSnapshot,
  limit: number | undefined,
): CounterSnapshot {
  return counter.window.kind === 'balance' ? locked.balances.told(key, snapshot) : withLimit(snapshot, limit, counter.limit)
}
