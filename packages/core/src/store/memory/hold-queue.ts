import { isExpired } from '../algebra/index.js'

/** A hold as the queue sees it: when it expires, and whether it was returned (settled or expired) already. */
export interface QueuedHold {
  readonly expiresAt: number
  readonly returned: boolean
}

/** Returned holds kept in the queue before a compaction is worth it. */
const compactAfter = 1024

/**
 * MemoryStore's unreturned holds, earliest expiry first (a binary min-heap on `expiresAt`): each
 * lease has its own lifetime, so a long-lived hold never stands in front of shorter ones behind it.
 * A settled hold is not searched for: it stays, marked returned, until it reaches the top or a
 * compaction drops it with the others once they are most of the queue.
 */
export class HoldQueue<Hold extends QueuedHold> {
  #heap: Hold[] = []
  /** Returned holds still in the heap. */
  #returned = 0

  /** Holds in the queue, returned ones included (for tests). */
  get size(): number {
    return this.#heap.length
  }

  push(hold: Hold): void {
    this.#heap.push(hold)
    this.#riseFrom(this.#heap.length - 1, hold)
  }

  /**
   * Puts a queued hold whose `expiresAt` changed (an extended lease) where its new expiry belongs.
   * Finds it by a walk of the queue: extending is rare, reserving and settling stay O(log n).
   */
  moved(hold: Hold): void {
    const index = this.#heap.indexOf(hold)
    if (index < 0) return
    this.#sinkFrom(this.#riseFrom(index, hold), hold)
  }

  /** Places `hold` at `index` or above it, where the heap order holds; returns where. */
  #riseFrom(start: number, hold: Hold): number {
    const heap = this.#heap
    let index = start
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (heap[parent]!.expiresAt <= hold.expiresAt) break
      heap[index] = heap[parent]!
      index = parent
    }
    heap[index] = hold
    return index
  }

  /** Notes that a queued hold was returned outside the queue (settled): it is dropped when it comes up. */
  noteReturned(): void {
    this.#returned += 1
    if (this.#returned > compactAfter && this.#returned * 2 > this.#heap.length) this.#compact()
  }

  /** Takes out every hold expired at `now`, earliest first, and gives each unreturned one to `expire`. Lua twin: `expire_holds` (redis/lua/common.ts; a sorted set on expiry). */
  takeExpired(now: number, expire: (hold: Hold) => void): void {
    const heap = this.#heap
    while (heap.length > 0 && (heap[0]!.returned || isExpired(heap[0]!.expiresAt, now))) {
      const hold = this.#pop()
      if (hold.returned) this.#returned -= 1
      else expire(hold)
    }
  }

  #pop(): Hold {
    const heap = this.#heap
    const top = heap[0]!
    const last = heap.pop()!
    if (heap.length > 0) this.#sinkFrom(0, last)
    return top
  }

  /** Places `hold` at `index` or below it, where the heap order holds. */
  #sinkFrom(start: number, hold: Hold): void {
    const heap = this.#heap
    let index = start
    for (;;) {
      const left = 2 * index + 1
      if (left >= heap.length) break
      const right = left + 1
      const child = right < heap.length && heap[right]!.expiresAt < heap[left]!.expiresAt ? right : left
      if (heap[child]!.expiresAt >= hold.expiresAt) break
      heap[index] = heap[child]!
      index = child
    }
    heap[index] = hold
  }

  #compact(): void {
    this.#heap = this.#heap.filter((hold) => !hold.returned)
    this.#returned = 0
    for (let index = (this.#heap.length >> 1) - 1; index >= 0; index -= 1) this.#sinkFrom(index, this.#heap[index]!)
  }
}
