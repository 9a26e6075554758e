/**
 * Store writes that finish after the call that made them has returned (commits taken off the
 * request path). A failed write is retried after each delay in turn — settles are idempotent, so
 * a retry never charges twice — and then given up.
 */
export class BackgroundWrites {
  readonly #retryDelaysMs: readonly number[]
  readonly #onGiveUp: (error: unknown) => void
  /** Every write until it lands or is given up, retries included. */
  readonly #writes = new Set<Promise<void>>()
  /** The attempts on the wire right now. */
  readonly #attempts = new Set<Promise<unknown>>()

  constructor(options: { readonly retryDelaysMs: readonly number[]; readonly onGiveUp: (error: unknown) => void }) {
    this.#retryDelaysMs = options.retryDelaysMs
    this.#onGiveUp = options.onGiveUp
  }

  get pending(): number {
    return this.#writes.size
  }

  /** Tracks a write already sent (`first`); `retry` sends it again if it fails; `landed` gets its result. */
  run<T>(first: Promise<T>, retry: () => Promise<T>, landed: (value: T) => void): void {
    const attempt = async (retries: number): Promise<void> => {
      const sent = retries === 0 ? first : retry()
      this.#attempts.add(sent)
      let value: T
      try {
        value = await sent
      } catch (error) {
        const delayMs = this.#retryDelaysMs[retries]
        if (delayMs === undefined) return this.#onGiveUp(error)
        await new Promise((resolve) => (setTimeout(resolve, delayMs) as { unref?: () => void }).unref?.())
        return attempt(retries + 1)
      } finally {
        this.#attempts.delete(sent)
      }
      landed(value)
    }
    const whole = attempt(0)
    this.#writes.add(whole)
    void whole.finally(() => this.#writes.delete(whole))
  }

  /** Waits for the attempts on the wire now (not for retries that wait for a delay). */
  async landed(): Promise<void> {
    if (this.#attempts.size > 0) await Promise.allSettled([...this.#attempts])
  }

  /** Waits until every write has landed or been given up. */
  async flush(): Promise<void> {
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes])
  }
}
