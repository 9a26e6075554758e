import PQueue from 'p-queue'

const sweepIntervalMs = 60_000

interface Pacer {
  readonly until: number
  readonly queue: PQueue
}

/**
 * Paces the calls of identifiers that crossed a `throttle` threshold: each throttled counter lets
 * one call start per `minIntervalMs` until its window resets. Calls wait; they are not refused.
 */
export class Throttle {
  readonly #pacers = new Map<string, Pacer>()
  #nextSweepAt = -Infinity

  get active(): number {
    return this.#pacers.size
  }

  /** Starts pacing `key` until `until`. Returns `false` when it was already paced. */
  activate(key: string, until: number, minIntervalMs: number, now: number): boolean {
    this.#sweep(now)
    const current = this.#pacers.get(key)
    if (current && current.until > now) return false
    this.#pacers.set(key, { until, queue: new PQueue({ intervalCap: 1, interval: Math.max(1, Math.round(minIntervalMs)) }) })
    return true
  }

  /** Waits for a turn on every paced key among `keys`. Resolves at once when none is paced. */
  async wait(keys: Iterable<string>, now: number): Promise<void> {
    this.#sweep(now)
    for (const key of keys) {
      const pacer = this.#pacers.get(key)
      if (!pacer) continue
      if (pacer.until <= now) {
        this.#pacers.delete(key)
        continue
      }
      await pacer.queue.add(() => undefined)
    }
  }

  /** Drops the pacers whose window is over, about once a minute, so identifiers that stop calling do not stay. */
  #sweep(now: number): void {
    if (now < this.#nextSweepAt) return
    this.#nextSweepAt = now + sweepIntervalMs
    for (const [key, pacer] of this.#pacers) if (pacer.until <= now) this.#pacers.delete(key)
  }
}
