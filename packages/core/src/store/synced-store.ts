import { StoreUnavailableError } from '../shared/errors.js'
import { MemoryStore, type ExpiryCharge } from './memory-store.js'
import type {
  ChargeOutcome,
  CounterRead,
  CounterRef,
  CounterRefusal,
  CounterSnapshot,
  ExtendRequest,
  InspectLeaseRequest,
  StoredLease,
  QuotaStore,
  ReadRequest,
  StoreReserveRequest,
  ReserveResult,
  SettleRequest,
} from './quota-store.js'
import { effectiveLimit, expiredForgotten, overridesFor, targetInForce } from './algebra/index.js'
import type { CounterOverrides, ResetWrite, StoreAdmin, TargetOverrides } from './store-admin.js'
import type { StoreCredits } from './credit-protocol.js'
import type { MaybePromise } from '../shared/types.js'
import { BalancePassThrough, isBalance } from './synced-balances.js'
import { timerDelayOf } from '../shared/timer-delay.js'

export interface SyncedStoreOptions {
  /**
   * Flush local charges and refresh the others' usage this often (Apigee's `SyncIntervalInSeconds`).
   * From 1 to 2147483647 ms (what setInterval takes), or `Infinity`: only when asked (`sync()`, `flush()`, `syncMessageCount`).
   * @default 10_000
   */
  readonly syncIntervalMs?: number
  /** Also flush after this many settled calls (Apigee's `SyncMessageCount`). */
  readonly syncMessageCount?: number
  /** Called when a sync fails; the charges stay pending and go with the next sync. */
  readonly onSyncError?: (error: unknown) => void
  /** Called with each batch of charges once the shared store has them (each is sent until it lands, and counted once). */
  readonly onSent?: (charges: readonly SentCharge[]) => void
  /** The clock for syncs (use the quota's). @default Date.now */
  readonly now?: () => number
}

/** A counter as the shared store keeps it: in the shard of the requests that use it. */
interface ShardedRef {
  readonly ref: CounterRef
  readonly shard: string | undefined
}

/** A charge the shared store now has: counter family, identifier key, and amount in counter units. */
export interface SentCharge {
  readonly counter: string
  readonly identifier: string
  readonly amount: number
}

interface Pending extends ShardedRef {
  readonly placement: number
  amount: number
}

/**
 * Charges sent to the shared store as one lease: reserved (a hold of nothing, so the settle finds
 * its lease), then settled. Until its settle is answered it is sent again under the same lease id,
 * so a settle that landed but answered late is not charged twice.
 */
interface Parcel {
  readonly leaseId: string
  readonly shard: string | undefined
  /** When the lease is placed: the sync's time, or the instant the charges' flexi window or rolling bucket began. */
  readonly now: number
  readonly expiresAt: number
  readonly entries: readonly Pending[]
  /** The shared store's placements, once reserved. */
  placements?: readonly number[]
}

/** How long a parcel's lease lives on the shared store (a settle within it returns the hold). */
const parcelTtlMs = 60_000

/** Shard `''` and no shard are one slot on Redis (no hash tag), so one shard here too. */
function shardKeyOf(shard: string | undefined): string {
  return shard ? `+${shard}` : '-'
}

/**
 * The local store's name of a counter family in a shard: the local MemoryStore keeps one set of
 * counters, so the shard goes into the family's name (a family never contains `\u0000`).
 */
function localCounterOf(counter: string, shard: string | undefined): string {
  return `${shardKeyOf(shard)}\u0000${counter}`
}

/** The counters as the local store names them in this shard. */
function localRefs<Ref extends CounterRef>(refs: readonly Ref[], shard: string | undefined): Ref[] {
  return refs.map((ref) => ({ ...ref, counter: localCounterOf(ref.counter, shard) }))
}

/** A counter family's name from the local store's name of it in this shard. */
function sharedCounterOf(local: string, shard: string | undefined): string {
  return local.slice(shardKeyOf(shard).length + 1)
}

function keyOf(ref: CounterRef, placement: number, shard: string | undefined): string {
  return `${shardKeyOf(shard)}\u0000${ref.counter}\u0000${placement}\u0000${ref.identifier}`
}

/** A counter in a shard: the same counter and identifier in two shards are two counters of the shared store. */
function windowKeyOf(ref: Pick<CounterRef, 'counter' | 'identifier'>, shard: string | undefined): string {
  return `${shardKeyOf(shard)}\u0000${ref.counter}\u0000${ref.identifier}`
}

/** Groups items by a key, in first-seen order. */
function groupBy<Item>(items: Iterable<Item>, keyOf: (item: Item) => string): Item[][] {
  const groups = new Map<string, Item[]>()
  for (const item of items) {
    const key = keyOf(item)
    const group = groups.get(key)
    if (group) group.push(item)
    else groups.set(key, [item])
  }
  return [...groups.values()]
}

/**
 * Asynchronous counting (Apigee `Synchronous=false`): decisions are made locally, against this
 * process's own usage plus the other processes' usage as of the last sync; local charges are sent
 * to the shared store in batches. Calls never wait for the shared store.
 *
 * Overshoot bound: between two syncs, each process can admit up to the capacity it saw at the
 * last sync, so with N processes a window can exceed `allow` by at most what the other N − 1
 * admitted since their last sync — at most (N − 1) × `allow` in the worst case, and in practice
 * about (N − 1) × (tokens one process admits per sync interval). Use it where latency matters more
 * than exactness; use the store directly (synchronous) where the limit must hold.
 *
 * Credit balances (`{ kind: 'balance' }` counters) are never counted locally: paid credits must
 * hold exactly. A reservation or settle that touches a balance goes through to the shared store at
 * once (the whole lease, its other counters too), a read of a balance reads it there, and `credits`
 * is the shared store's.
 */
export class SyncedStore implements QuotaStore {
  readonly #remote: QuotaStore
  readonly #local: MemoryStore
  /** Leases whose local hold expired and was charged (sent as pending): their late settle sends only the difference. */
  readonly #expiryCharged = new Map<string, { readonly amounts: readonly number[]; readonly at: number }>()
  readonly #options: SyncedStoreOptions
  /** Per counter: the others' usage in a window, as of the last sync. */
  readonly #others = new Map<string, { readonly windowStart: number; readonly used: number }>()
  /** Per counter and window: charges not yet sent. */
  #pending = new Map<string, Pending>()
  /** Counters seen, with their shard, to refresh at each sync. */
  readonly #known = new Map<string, ShardedRef>()
  readonly #timer: NodeJS.Timeout | undefined
  /** Parcels whose settle has not been answered yet, oldest first. */
  readonly #unsent: Parcel[] = []
  #settledSinceSync = 0
  /** Resets made elsewhere that this process adopted (names each local reset). */
  #adoptions = 0
  #syncing: Promise<void> | undefined
  /** `shard \0 counter \0 identifier` (identifier `''`: the family) → the operators' overrides on the shared store, as of the last sync or this process's own change. */
  #overrides = new Map<string, TargetOverrides>()
  /** Refusals on their way to the shared store (where every process counts them). */
  #refusalsSent: Promise<unknown> = Promise.resolve()
  /**
   * The shared store's admin: overrides are written there and reach this process's decisions at
   * once, other processes' at their next sync; last refusals are this process's own.
   */
  readonly admin: StoreAdmin | undefined
  /** The shared store's credits: balances are read and written there, never kept here. */
  readonly credits: StoreCredits | undefined
  /** The shared store's (credits are kept there). */
  readonly creditDurability: QuotaStore['creditDurability']
  /** Leases that touch a balance: held on the shared store, not here. */
  readonly #balances: BalancePassThrough

  constructor(remote: QuotaStore, options: SyncedStoreOptions = {}) {
    this.#remote = remote
    this.#balances = new BalancePassThrough(remote)
    this.credits = remote.credits
    this.creditDurability = remote.creditDurability
    this.#options = options
    this.#local = new MemoryStore({ onExpiryCharge: (expired) => this.#chargeExpired(expired) })
    const interval =
      options.syncIntervalMs === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : timerDelayOf(options.syncIntervalMs, 'syncIntervalMs', 10_000)
    if (Number.isFinite(interval)) {
      this.#timer = setInterval(() => this.sync().catch(() => undefined), interval)
      this.#timer.unref?.()
    }
    this.admin = remote.admin && this.#adminOn(remote.admin)
  }

  #adminOn(shared: StoreAdmin): StoreAdmin {
    return {
      writeOverride: async (request) => {
        const outcome = await shared.writeOverride(request)
        this.#overrides.set(windowKeyOf(request, request.shard), outcome.overrides)
        return outcome
      },
      readAdmin: async (request) => {
        await this.#refusalsSent
        const [states, own] = [
          await shared.readAdmin(request),
          await this.#local.admin.readAdmin({ ...request, counters: localRefs(request.counters, request.shard) }),
        ]
        return states.map((state, index) => ({ ...state, lastRefusal: own[index]?.lastRefusal ?? state.lastRefusal }))
      },
      noteRefusals: async (note) => {
        this.#local.admin.noteRefusals({ ...note, refusals: note.refusals.map((refusal) => ({ ...refusal, ref: localRefs([refusal.ref], note.shard)[0]! })) })
        await shared.noteRefusals(note)
      },
      resetUsage: async (request) => {
        const outcome = await shared.resetUsage(request)
        // A replayed reset was applied before: this process's usage since then is not the reset's.
        if (outcome.applied) this.#resetLocal(request)
        return outcome
      },
      readAudit: (limit) => shared.readAudit(limit),
    }
  }

  /** After a reset on the shared store: this process's usage and pending charges of those counters go too. */
  #resetLocal(request: ResetWrite): void {
    const { shard } = request
    // Idempotency is the shared store's (it said `applied`); locally a key names the reset in its shard.
    this.#local.admin.resetUsage({ ...request, key: `${shardKeyOf(shard)}\u0000${request.key}`, counters: localRefs(request.counters, shard) })
    const reset = new Set(request.counters.map((ref) => windowKeyOf(ref, request.shard)))
    for (const key of reset) this.#others.delete(key)
    for (const [key, pending] of this.#pending) if (reset.has(windowKeyOf(pending.ref, pending.shard))) this.#pending.delete(key)
  }

  async #refreshOverrides(now: number): Promise<void> {
    const admin = this.#remote.admin
    if (!admin || this.#known.size === 0) return
    const overrides = new Map<string, TargetOverrides>()
    const read = new Set<string>()
    for (const group of groupBy(this.#known.values(), ({ shard }) => shardKeyOf(shard))) {
      const shard = group[0]!.shard
      const states = await admin.readAdmin({ now, shard, counters: group.map(({ ref }) => ref) })
      group.forEach(({ ref }, index) => {
        read.add(windowKeyOf(ref, shard)).add(windowKeyOf({ counter: ref.counter, identifier: '' }, shard))
        const { allow, grants = [], familyAllow, familyGrants = [] } = states[index]!.overrides
        if (allow || grants.length > 0) overrides.set(windowKeyOf(ref, shard), { allow, grants })
        if (familyAllow || familyGrants.length > 0)
          overrides.set(windowKeyOf({ counter: ref.counter, identifier: '' }, shard), { allow: familyAllow, grants: familyGrants })
      })
    }
    // Targets no counter in use names (their counters went idle) keep what was read last, while in force.
    for (const [key, target] of this.#overrides) {
      const live = read.has(key) ? undefined : targetInForce(target, now)
      if (live) overrides.set(key, live)
    }
    this.#overrides = overrides
  }

  #overridesOf(ref: CounterRef, shard: string | undefined): CounterOverrides | undefined {
    if (this.#overrides.size === 0) return undefined
    return overridesFor(ref.identifier, (identifier) => this.#overrides.get(windowKeyOf({ counter: ref.counter, identifier }, shard)))
  }

  /** The limit in force on a counter, by the overrides as of the last sync or this process's own change. */
  #limitOf(counter: CounterRead, shard: string | undefined, now: number): number | undefined {
    const overrides = this.#overridesOf(counter, shard)
    return overrides ? effectiveLimit(counter.limit, overrides, now) : counter.limit
  }

  /** Fixed windows match by start; rolling and flexi windows move, so the last sync's figure holds until the next. */
  #othersUsed(ref: CounterRef, shard: string | undefined, windowStart: number): number {
    const others = this.#others.get(windowKeyOf(ref, shard))
    if (!others || (ref.window.kind === 'fixed' && others.windowStart !== windowStart)) return 0
    return others.used
  }

  /** Answers at once, from the local counters and the others' usage as of the last sync; a reservation that touches a balance, from the shared store. */
  reserve(request: StoreReserveRequest): MaybePromise<ReserveResult> {
    const { shard } = request
    this.#remember(request.counters, shard)
    if (this.#balances.takes(request)) return this.#balances.reserve(request)
    // Read the local windows first: the others' usage lowers each limit for the window in force.
    const views = this.#local.read({ now: request.now, counters: localRefs(request.counters, shard) })
    const limits = request.counters.map((counter) => this.#limitOf(counter, shard, request.now))
    const counters = request.counters.map((counter, index) => {
      const limit = limits[index]
      return limit === undefined ? counter : { ...counter, limit: Math.max(0, limit - this.#othersUsed(counter, shard, views[index]!.windowStart)) }
    })
    const result = this.#local.reserve({ ...request, counters: localRefs(counters, shard) })
    const shared = (index: number, snapshot: CounterSnapshot) => {
      const withOthers = this.#withOthers(request.counters[index]!, shard, snapshot)
      return limits[index] === request.counters[index]!.limit ? withOthers : { ...withOthers, limit: limits[index] }
    }
    if (result.ok) return { ...result, snapshots: result.snapshots.map((snapshot, index) => shared(index, snapshot)) }
    const refusals = result.refusals.map((refusal) => ({ ...refusal, snapshot: shared(refusal.index, refusal.snapshot) }))
    this.#sendRefusals(request, refusals, limits)
    return { ok: false, refusals }
  }

  /** Counts this process's refusals on the shared store too, in the background (a failure loses only the count). */
  #sendRefusals(request: StoreReserveRequest, refusals: readonly CounterRefusal[], limits: readonly (number | undefined)[]): void {
    const admin = this.#remote.admin
    if (!admin) return
    const note = {
      now: request.now,
      shard: request.shard,
      refusals: refusals.map(({ index, snapshot }) => {
        const counter = request.counters[index]!
        const { used, reserved, windowStart } = snapshot
        return { ref: counter, requested: counter.amount, limit: limits[index] ?? counter.limit ?? 0, used, reserved, windowStart }
      }),
    }
    const sending = Promise.resolve()
      .then(() => admin.noteRefusals(note))
      .catch(() => undefined)
    this.#refusalsSent = Promise.all([this.#refusalsSent, sending]).then(() => undefined)
  }

  /** Answers at once: leases are held in this process's counters (a lease on a balance, on the shared store). */
  extend(request: ExtendRequest): MaybePromise<boolean> {
    if (this.#balances.holds(request.leaseId)) return this.#balances.extend(request)
    return this.#local.extend(request)
  }

  /** Answers at once, from this process's counters (a lease on a balance, from the shared store). */
  inspectLease(request: InspectLeaseRequest): MaybePromise<StoredLease | undefined> {
    if (this.#balances.holds(request.leaseId)) return this.#balances.inspectLease(request)
    return this.#local.inspectLease(request)
  }

  /** Answers at once; the charge reaches the shared store at the next sync (a charge on a balance, at once). */
  settle(request: SettleRequest): MaybePromise<readonly ChargeOutcome[]> {
    if (this.#balances.holds(request.leaseId, request.charges)) return this.#balances.settle(request)
    const outcomes = this.#local.settle({ ...request, charges: localRefs(request.charges, request.shard) })
    const expired = this.#expiryCharged.get(request.leaseId)
    this.#expiryCharged.delete(request.leaseId)
    for (const [index, charge] of request.charges.entries())
      this.#addPending(charge, request.shard, charge.amount - (expired?.amounts[index] ?? 0), request.now)
    this.#settledSinceSync += 1
    const { syncMessageCount } = this.#options
    if (syncMessageCount !== undefined && this.#settledSinceSync >= syncMessageCount) this.sync().catch(() => undefined)
    return outcomes
  }

  /** A local hold expired unsettled and was charged: the shared store gets the charge too. */
  #chargeExpired(expired: ExpiryCharge): void {
    this.#expiryCharged.set(expired.leaseId, { amounts: expired.charges.map((charge) => charge.amount), at: expired.now })
    for (const charge of expired.charges)
      this.#addPending({ ...charge, counter: sharedCounterOf(charge.counter, expired.shard) }, expired.shard, charge.amount, expired.now)
  }

  #addPending(charge: CounterRef & { readonly placement: number }, shard: string | undefined, amount: number, now: number): void {
    if (amount === 0) return
    const ref = charge.window.kind === 'flexi' ? this.#flexiWindowOf(charge, shard, now) : charge
    // A flexi window replaced since the reservation is over: the local store dropped its charge too.
    if (ref === undefined) return
    const key = keyOf(charge, charge.placement, shard)
    const pending = this.#pending.get(key)
    if (pending) pending.amount += amount
    else this.#pending.set(key, { ref, shard, placement: charge.placement, amount })
  }

  /**
   * The local flexi window a charge landed in, as a window that the shared store opens at the same
   * instant and closes at the same end, so one process's flexi windows are the shared store's.
   */
  #flexiWindowOf(charge: CounterRef & { readonly placement: number }, shard: string | undefined, now: number): CounterRef | undefined {
    const [local] = this.#local.read({ now, counters: localRefs([charge], shard) })
    if (local!.windowStart !== charge.placement) return undefined
    return { counter: charge.counter, identifier: charge.identifier, window: { kind: 'flexi', endIfStartedNow: local!.resetAt } }
  }

  /** Answers at once from the local counters; balances are read on the shared store. */
  read(request: ReadRequest): MaybePromise<readonly CounterSnapshot[]> {
    if (!request.counters.some(isBalance)) return this.#readLocal(request)
    const balances = request.counters.filter(isBalance)
    const windows = this.#readLocal({ ...request, counters: request.counters.filter((counter) => !isBalance(counter)) })
    return Promise.resolve(this.#remote.read({ ...request, counters: balances })).then((shared) => {
      const [fromShared, fromLocal] = [shared[Symbol.iterator](), windows[Symbol.iterator]()]
      return request.counters.map((counter) => (isBalance(counter) ? fromShared : fromLocal).next().value!)
    })
  }

  #readLocal(request: ReadRequest): readonly CounterSnapshot[] {
    this.#remember(request.counters, request.shard)
    return this.#local.read({ ...request, counters: localRefs(request.counters, request.shard) }).map((snapshot, index) => {
      const counter = request.counters[index]!
      const limit = this.#limitOf(counter, request.shard, request.now)
      const withOthers = this.#withOthers(counter, request.shard, snapshot)
      return limit === counter.limit ? withOthers : { ...withOthers, limit }
    })
  }

  /** Windows to refresh at each sync (a balance is never counted here: nothing to refresh). */
  #remember(counters: readonly CounterRef[], shard: string | undefined): void {
    for (const ref of counters) if (!isBalance(ref)) this.#known.set(windowKeyOf(ref, shard), { ref, shard })
  }

  #withOthers(ref: CounterRef, shard: string | undefined, snapshot: CounterSnapshot): CounterSnapshot {
    const { limit: _local, ...own } = snapshot
    return { ...own, used: snapshot.used + this.#othersUsed(ref, shard, snapshot.windowStart) }
  }

  /**
   * Sends pending charges and refreshes the others' usage. Concurrent calls share one sync.
   * Rejects when the shared store failed; the charges then stay pending for the next sync.
   */
  sync(): Promise<void> {
    this.#syncing ??= this.#sync().finally(() => {
      this.#syncing = undefined
    })
    return this.#syncing
  }

  /** Sends every pending charge now (the engine's `quota.flush()` calls it). */
  flush(): Promise<void> {
    return this.sync()
  }

  async #sync(): Promise<void> {
    const now = (this.#options.now ?? Date.now)()
    this.#unsent.push(...this.#parcelsOf(this.#pending, now))
    this.#pending = new Map()
    this.#settledSinceSync = 0
    for (const [leaseId, expired] of this.#expiryCharged) if (expiredForgotten(expired.at, now)) this.#expiryCharged.delete(leaseId)
    this.#balances.forget(now)
    try {
      while (this.#unsent.length > 0) {
        await this.#send(this.#unsent[0]!)
        this.#unsent.shift()
      }
      await this.#refresh(now)
      await this.#refreshOverrides(now)
    } catch (error) {
      this.#options.onSyncError?.(error)
      throw error
    }
  }

  /**
   * Parcels placed where their charges were made: per shard, one per flexi window start or rolling
   * bucket (placed at that instant), one at the sync's time for the fixed windows (whose place is
   * in their window already).
   */
  #parcelsOf(pending: ReadonlyMap<string, Pending>, now: number): Parcel[] {
    const startOf = (entry: Pending) => (entry.ref.window.kind === 'fixed' ? now : entry.placement)
    return groupBy(pending.values(), (entry) => `${shardKeyOf(entry.shard)}\u0000${startOf(entry)}`).map((entries) => ({
      leaseId: `sync-${now}-${Math.random().toString(36).slice(2)}`,
      shard: entries[0]!.shard,
      now: startOf(entries[0]!),
      expiresAt: now + parcelTtlMs,
      entries,
    }))
  }

  async #send(parcel: Parcel): Promise<void> {
    const { leaseId, shard, now, expiresAt, entries } = parcel
    if (parcel.placements === undefined) {
      const reserved = await this.#remote.reserve({
        leaseId,
        shard,
        now,
        expiresAt,
        counters: entries.map(({ ref }) => ({ ...ref, limit: undefined, amount: 0, hold: true })),
      })
      if (!reserved.ok) throw new StoreUnavailableError({ message: 'The shared store refused a reservation that has no limit' })
      parcel.placements = reserved.placements
    }
    const placements = parcel.placements
    const charges = entries.map(({ ref, amount }, index) => ({ ...ref, placement: placements[index]!, held: 0, amount }))
    await this.#remote.settle({ leaseId, shard, now, expiresAt, charges })
    this.#options.onSent?.(entries.map(({ ref, amount }) => ({ counter: ref.counter, identifier: ref.identifier, amount })))
  }

  /** Reads the shared counters of the windows in use; forgets the ones no process uses any more. */
  async #refresh(now: number): Promise<void> {
    for (const group of groupBy(this.#known.values(), ({ shard }) => shardKeyOf(shard))) await this.#refreshShard(group, now)
  }

  async #refreshShard(group: readonly ShardedRef[], now: number): Promise<void> {
    const { shard } = group[0]!
    const refs = group.map(({ ref }) => ref)
    const [remote, local] = [await this.#remote.read({ now, shard, counters: refs }), this.#local.read({ now, counters: localRefs(refs, shard) })]
    refs.forEach((ref, index) => {
      const key = windowKeyOf(ref, shard)
      const [shared, own] = [remote[index]!, local[index]!]
      const over = ref.window.kind === 'fixed' && ref.window.end <= now
      const idle = shared.used === 0 && shared.reserved === 0 && own.used === 0 && own.reserved === 0
      // A counter with overrides of its own stays known, so they are refreshed, not dropped.
      if (over || (idle && !this.#overrides.has(key))) {
        this.#known.delete(key)
        this.#others.delete(key)
        return
      }
      const unsent = this.#unsentIn(key, own.windowStart)
      // The shared store has less than this process sent: an operator reset it elsewhere. This
      // process adopts the reset; its charges not sent yet land after it, so count them meanwhile.
      if (shared.windowStart === own.windowStart && shared.used < own.used - unsent) {
        this.#adoptReset(ref, shard, now)
        this.#others.set(key, { windowStart: shared.windowStart, used: shared.used + unsent })
        return
      }
      this.#others.set(key, { windowStart: shared.windowStart, used: Math.max(0, shared.used - own.used) })
    })
  }

  /** The charges of a counter's window (from `windowStart` on) not sent yet. */
  #unsentIn(key: string, windowStart: number): number {
    let amount = 0
    for (const pending of this.#pending.values())
      if (pending.placement >= windowStart && windowKeyOf(pending.ref, pending.shard) === key) amount += pending.amount
    return amount
  }

  /** Zeroes this process's usage of a counter that was reset on the shared store (its pending charges stay pending). */
  #adoptReset(ref: CounterRef, shard: string | undefined, now: number): void {
    this.#adoptions += 1
    this.#local.admin.resetUsage({
      now,
      shard,
      key: `${shardKeyOf(shard)}\u0000adopted\u0000${this.#adoptions}`,
      counters: localRefs([ref], shard),
      audit: { at: now, by: 'sync', action: 'reset', policy: ref.counter, identifier: ref.identifier },
    })
  }

  /** Whether some charges have not reached the shared store yet. */
  get hasPending(): boolean {
    return this.#pending.size > 0 || this.#unsent.length > 0
  }

  /** Number of counters refreshed at each sync (the ones in use). */
  get trackedCounters(): number {
    return this.#known.size
  }

  /** Stops the sync timer after a last sync (the engine's `quota.close()` calls it). */
  async close(): Promise<void> {
    clearInterval(this.#timer)
    await this.sync()
  }
}
