import { StoreUnavailableError, TokenQuotaError } from '../shared/errors.js'
import type { QuotaEvents } from './events.js'
import type { CapRefusal } from '../plan/cap-refusal.js'
import { type SentCharge, SyncedStore } from '../store/synced-store.js'
import type {
  ChargeOutcome,
  CounterSnapshot,
  ExtendRequest,
  MaybePromise,
  QuotaStore,
  ReadRequest,
  ReserveResult,
  SettleRequest,
  StoreReserveRequest,
} from '../store/quota-store.js'
import type { AdminRead, RefusalRun } from '../store/store-admin.js'
import type { CounterRef } from '../store/counter-ref.js'

type Operation = 'reserve' | 'settle' | 'extend' | 'read'

/**
 * A credit balance lives only in the store (its grants are not in a local limiter, which would
 * refuse it as exhausted): a call that touches one fails closed, whatever `failureMode` says.
 */
function touchesBalance(counters: readonly CounterRef[]): boolean {
  return counters.some((counter) => counter.window.kind === 'balance')
}

/** A reservation as a store placed it: in the primary store, or in the local fallback one. */
export interface Placement {
  readonly result: ReserveResult
  readonly local: boolean
}

/**
 * The engine's only way to its store. A store that answers at once costs no promise; a failing
 * one is reported (`storeError`) and, with `failureMode: 'open'`, replaced by a local in-memory
 * limiter for reservations and reads (a settle goes where its reservation was placed) — except
 * a call that touches a credit balance, which fails closed with a `CreditsNeedStore` warning.
 *
 * What the local limiter admits is not free: its charges are kept and, once the store answers
 * again, written to it once (as `SyncedStore` sends its batches), and a `storeReplayed` event says so.
 */
export class StoreAccess {
  readonly store: QuotaStore
  readonly #failureMode: 'open' | 'closed'
  readonly #events: QuotaEvents
  readonly #now: () => number
  #local: SyncedStore | undefined
  /** The store answered since its last failure: the local limiter's charges can go to it. */
  #answering = true
  #replaying: Promise<void> | undefined
  /** Charges the store has received since the last `storeReplayed` event. */
  #replayed: SentCharge[] = []

  constructor(store: QuotaStore, failureMode: 'open' | 'closed', events: QuotaEvents, now: () => number) {
    this.store = store
    this.#failureMode = failureMode
    this.#events = events
    this.#now = now
  }

  reserve(request: StoreReserveRequest): MaybePromise<Placement> {
    return this.#call(
      'reserve',
      (store) => store.reserve(request),
      (result, local) => ({ result, local }),
      touchesBalance(request.counters),
    )
  }

  settle(request: SettleRequest, local: boolean): MaybePromise<readonly ChargeOutcome[]> {
    if (local) {
      const outcomes = this.#local!.settle(request)
      if (this.#answering) this.#replay().catch(() => undefined)
      return outcomes
    }
    return this.#call(
      'settle',
      (store) => store.settle(request),
      (outcomes) => outcomes,
    )
  }

  /** Moves a lease's expiry where its reservation was placed; a failing store is reported and throws. */
  extend(request: ExtendRequest, local: boolean): MaybePromise<boolean> {
    if (local) return this.#local!.extend(request)
    return this.#call(
      'extend',
      (store) => store.extend(request),
      (extended) => extended,
    )
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    return this.#call(
      'read',
      (store) => store.read(request),
      (snapshots) => snapshots,
      touchesBalance(request.counters),
    )
  }

  /**
   * Per counter, its run of refusals (`status()` shows those of the window). A store without an admin
   * side has none; a failure is reported (`storeError`) and leaves them unknown, never fails a status.
   */
  async refusalRuns(request: AdminRead): Promise<readonly (RefusalRun | undefined)[]> {
    const admin = this.store.admin
    if (!admin) return request.counters.map(() => undefined)
    try {
      return (await admin.readAdmin(request)).map((state) => state.refusals)
    } catch (error) {
      this.#events.emit('storeError', { error, operation: 'read', failureMode: this.#failureMode })
      return request.counters.map(() => undefined)
    }
  }

  /**
   * Records refusals decided before the store (per-request caps), with each counter's window and
   * usage as the store has them. A failure is reported (`storeError`); the refusal stands.
   */
  async noteRefusals(request: { readonly now: number; readonly shard: string | undefined; readonly refusals: readonly CapRefusal[] }): Promise<void> {
    const admin = this.store.admin
    if (!admin) return
    try {
      const { now, shard } = request
      const snapshots = await this.store.read({ now, shard, counters: request.refusals.map(({ ref }) => ref) })
      const refusals = request.refusals.map(({ ref, requested, limit }, index) => {
        const { used, reserved, windowStart } = snapshots[index]!
        return { ref, requested, limit, used, reserved, windowStart }
      })
      await admin.noteRefusals({ now, shard, refusals })
    } catch (error) {
      this.#events.emit('storeError', { error, operation: 'reserve', failureMode: this.#failureMode })
    }
  }

  #call<Answer, Result>(
    operation: Operation,
    run: (store: QuotaStore) => MaybePromise<Answer>,
    done: (answer: Answer, local: boolean) => Result,
    needsStore = false,
  ): MaybePromise<Result> {
    let answer: MaybePromise<Answer>
    try {
      answer = run(this.store)
    } catch (error) {
      return this.#fallback(operation, error, run, done, needsStore)
    }
    if (!(answer instanceof Promise)) return done(answer, false)
    return answer.then(
      (value) => {
        this.#answered()
        return done(value, false)
      },
      (error: unknown) => this.#fallback(operation, error, run, done, needsStore),
    )
  }

  #answered(): void {
    this.#answering = true
    if (this.#local?.hasPending) this.#replay().catch(() => undefined)
  }

  /**
   * Writes what the local limiter charged to the store, once (each batch is sent until it lands);
   * rejects when the store failed again (the charges then wait for its next answer).
   */
  #replay(): Promise<void> {
    const local = this.#local
    if (!local?.hasPending) return this.#replaying ?? Promise.resolve()
    this.#replaying ??= local.sync().finally(() => {
      this.#replaying = undefined
      if (this.#replayed.length === 0) return
      const charges = this.#replayed
      this.#replayed = []
      this.#events.emit('storeReplayed', { charges })
    })
    return this.#replaying
  }

  /** Waits for the local limiter's charges to reach the store (`quota.flush()`); rejects if the store fails. */
  async flush(): Promise<void> {
    await this.#replaying
    await this.#replay()
  }

  #fallback<Answer, Result>(
    operation: Operation,
    error: unknown,
    run: (store: QuotaStore) => MaybePromise<Answer>,
    done: (answer: Answer, local: boolean) => Result,
    needsStore: boolean,
  ): MaybePromise<Result> {
    if (TokenQuotaError.isInstance(error) && !StoreUnavailableError.isInstance(error)) throw error
    this.#answering = false
    this.#events.emit('storeError', { error, operation, failureMode: this.#failureMode })
    const failOpen = this.#failureMode === 'open' && (operation === 'reserve' || operation === 'read')
    if (failOpen && needsStore) {
      this.#events.emit('warning', {
        code: 'CreditsNeedStore',
        message: `The quota store failed during ${operation} of a credit balance: failing closed (failureMode 'open' does not apply to paid credits, which only the store holds)`,
      })
    }
    if (!failOpen || needsStore) {
      throw StoreUnavailableError.isInstance(error)
        ? error
        : new StoreUnavailableError({ message: `The quota store failed during ${operation}: ${String(error)}`, cause: error })
    }
    this.#local ??= new SyncedStore(this.store, {
      syncIntervalMs: Number.POSITIVE_INFINITY,
      now: this.#now,
      onSent: (charges) => this.#replayed.push(...charges),
    })
    const answer = run(this.#local)
    return answer instanceof Promise ? answer.then((value) => done(value, true)) : done(answer, true)
  }
}
