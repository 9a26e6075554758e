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
 * Lanes keep apart operations that may not share a call (keys of different Redis Cluster slots).
 */
export class Batcher<Item, Result> {
  readonly #send: (items: readonly Item[]) => Promise<readonly Result[]>
  readonly #maxBatch: number
  readonly #lanes = new Map<string, Lane<Item, Result>>()

  constructor(send: (items: readonly Item[]) => Promise<readonly Result[]>, maxBatch: number) {
    this.#send = send
    this.#maxBatch = maxBatch
  }

  add(laneKey: string, item: Item): Promise<Result> {
    let lane = this.#lanes.get(laneKey)
    if (!lane) this.#lanes.set(laneKey, (lane = { busy: false, waiting: [] }))
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
    sending.then(
      (results) => batch.forEach((waiting, index) => waiting.resolve(results[index]!)),
      (error: unknown) => batch.forEach((waiting) => waiting.reject(error)),
    ).finally(() => this.#drain(laneKey, lane))
  }
}
