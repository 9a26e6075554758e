import { StoreUnavailableError } from '../../shared/errors.js'

interface Waiting<Item, Result> {
  readonly item: Item
  resolve(result: Result): void
  reject(error: unknown): void
}

interface Lane<Item, Result> {
  busy: boolean
  waiting: Array<Waiting<Item, Result>>
}

/**
 * Coalesces concurrent operations into one call (group commit): an idle lane sends an operation
 * at once, so a lone caller waits for nothing; while a call is in flight, new operations queue and
 * go together in the next one. Under load, one script call carries many operations.
 *
 * Fails fast: when a call fails (Redis down or hung past its timeout), the operations queued
 * behind it fail with it instead of each batch waiting out its own timeout, and a lane refuses
 * new operations at once beyond `maxWaiting`. So no operation waits much longer than one timeout.
 *
 * Lanes keep apart operations that may not share a call (keys of different Redis Cluster slots).
 */
export class Batcher<Item, Result> {
  readonly #send: (items: readonly Item[]) => Promise<readonly Result[]>
  readonly #maxBatch: number
  readonly #maxWaiting: number
  readonly #lanes = new Map<string, Lane<Item, Result>>()

  constructor(send: (items: readonly Item[]) => Promise<readonly Result[]>, options: { readonly maxBatch: number; readonly maxWaiting: number }) {
    this.#send = send
    this.#maxBatch = options.maxBatch
    this.#maxWaiting = options.maxWaiting
  }

  add(laneKey: string, item: Item): Promise<Result> {
    let lane = this.#lanes.get(laneKey)
    if (!lane) {
      lane = { busy: false, waiting: [] }
      this.#lanes.set(laneKey, lane)
    }
    if (lane.waiting.length >= this.#maxWaiting) {
      return Promise.reject(new StoreUnavailableError({ message: `More than ${this.#maxWaiting} operations are waiting for Redis: it is not keeping up` }))
    }
    const result = new Promise<Result>((resolve, reject) => lane.waiting.push({ item, resolve, reject }))
    if (!lane.busy) this.#drain(laneKey, lane)
    return result
  }

  #drain(laneKey: string, lane: Lane<Item, Result>): void {
    if (lane.waiting.length === 0) {
      lane.busy = false
      this.#lanes.delete(laneKey)
      return
    }
    lane.busy = true
    const batch = lane.waiting.splice(0, this.#maxBatch)
    let sending: Promise<readonly Result[]>
    try {
      sending = this.#send(batch.map((waiting) => waiting.item))
    } catch (error) {
      sending = Promise.reject(error)
    }
    sending
      .then(
        (results) => {
          for (const [index, waiting] of batch.entries()) waiting.resolve(results[index]!)
        },
        (error: unknown) => {
          for (const waiting of batch) waiting.reject(error)
          for (const waiting of lane.waiting.splice(0)) waiting.reject(error)
        },
      )
      .finally(() => this.#drain(laneKey, lane))
  }
}
