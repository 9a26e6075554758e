import { StoreUnavailableError, TokenQuotaError } from '../shared/errors.js'
import type { QuotaEvents } from '../shared/events.js'
import { MemoryStore } from '../store/memory-store.js'
import type {
  ChargeOutcome,
  CounterSnapshot,
  MaybePromise,
  QuotaStore,
  ReadRequest,
  ReserveResult,
  SettleRequest,
  StoreReserveRequest,
} from '../store/quota-store.js'

type Operation = 'reserve' | 'settle' | 'read'

/** A reservation as a store placed it: in the primary store, or in the local fallback one. */
export interface Placement {
  readonly result: ReserveResult
  readonly local: boolean
}

/**
 * The engine's only way to its store. A store that answers at once costs no promise; a failing
 * one is reported (`storeError`) and, with `failureMode: 'open'`, replaced by a local in-memory
 * store for reservations and reads (a settle goes where its reservation was placed).
 */
export class StoreAccess {
  readonly store: QuotaStore
  readonly #failureMode: 'open' | 'closed'
  readonly #events: QuotaEvents
  #local: MemoryStore | undefined

  constructor(store: QuotaStore, failureMode: 'open' | 'closed', events: QuotaEvents) {
    this.store = store
    this.#failureMode = failureMode
    this.#events = events
  }

  reserve(request: StoreReserveRequest): MaybePromise<Placement> {
    return this.#call(
      'reserve',
      (store) => store.reserve(request),
      (result, local) => ({ result, local }),
    )
  }

  settle(request: SettleRequest, local: boolean): MaybePromise<readonly ChargeOutcome[]> {
    if (local) return this.#local!.settle(request)
    return this.#call(
      'settle',
      (store) => store.settle(request),
      (outcomes) => outcomes,
    )
  }

  async read(request: ReadRequest): Promise<readonly CounterSnapshot[]> {
    return this.#call(
      'read',
      (store) => store.read(request),
      (snapshots) => snapshots,
    )
  }

  #call<Answer, Result>(
    operation: Operation,
    run: (store: QuotaStore) => MaybePromise<Answer>,
    done: (answer: Answer, local: boolean) => Result,
  ): MaybePromise<Result> {
    let answer: MaybePromise<Answer>
    try {
      answer = run(this.store)
    } catch (error) {
      return this.#fallback(operation, error, run, done)
    }
    if (!(answer instanceof Promise)) return done(answer, false)
    return answer.then(
      (value) => done(value, false),
      (error: unknown) => this.#fallback(operation, error, run, done),
    )
  }

  #fallback<Answer, Result>(
    operation: Operation,
    error: unknown,
    run: (store: QuotaStore) => MaybePromise<Answer>,
    done: (answer: Answer, local: boolean) => Result,
  ): Result {
    if (TokenQuotaError.isInstance(error) && !StoreUnavailableError.isInstance(error)) throw error
    this.#events.emit('storeError', { error, operation, failureMode: this.#failureMode })
    if (this.#failureMode === 'closed' || operation === 'settle') {
      throw StoreUnavailableError.isInstance(error)
        ? error
        : new StoreUnavailableError({ message: `The quota store failed during ${operation}: ${String(error)}`, cause: error })
    }
    this.#local ??= new MemoryStore()
    return done(run(this.#local) as Answer, true)
  }
}
