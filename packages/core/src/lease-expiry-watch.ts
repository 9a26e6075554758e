import { noticeUnsettledAtExit } from './exit-notice.js'

interface Watched {
  readonly leaseId: string
  readonly expiresAt: number
}

export interface LeaseExpiryWatchOptions<Reservation> {
  readonly checkEveryMs: number
  readonly now: () => number
  readonly onExpired: (reservation: Reservation) => void
  /** Charges not yet in the store besides the open leases (writes in flight), for the exit notice. */
  readonly pendingWrites: () => number
}

/**
 * Watches the engine's reservations until they are settled, to report the ones whose lease
 * expires first. Every lease has the same TTL, so the order they were made in is expiry order:
 * the expired ones are at the head of one map, found without a timer each. A single unref'd
 * timer checks while any is open; the process's exit notice counts them.
 */
export class LeaseExpiryWatch<Reservation extends Watched> {
  readonly #open = new Map<string, Reservation>()
  readonly #options: LeaseExpiryWatchOptions<Reservation>
  /** No open lease expires before this (a settled head may make it early, never late): checks before it cost nothing. */
  #nextExpiry = Infinity
  #timer: ReturnType<typeof setInterval> | undefined
  #stopExitNotice: (() => void) | undefined

  constructor(options: LeaseExpiryWatchOptions<Reservation>) {
    this.#options = options
  }

  watch(reservation: Reservation): void {
    this.#open.set(reservation.leaseId, reservation)
    if (reservation.expiresAt < this.#nextExpiry) this.#nextExpiry = reservation.expiresAt
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => this.check(this.#options.now()), this.#options.checkEveryMs)
    this.#timer.unref?.()
    this.#stopExitNotice ??= noticeUnsettledAtExit(() => this.#open.size + this.#options.pendingWrites())
  }

  settled(leaseId: string): void {
    this.#open.delete(leaseId)
  }

  /** Reports (and forgets) the reservations whose lease has expired at `now`. */
  check(now: number): void {
    if (now < this.#nextExpiry) return
    const expired: Reservation[] = []
    this.#nextExpiry = Infinity
    for (const reservation of this.#open.values()) {
      if (reservation.expiresAt > now) {
        this.#nextExpiry = reservation.expiresAt
        break
      }
      expired.push(reservation)
    }
    for (const reservation of expired) {
      this.#open.delete(reservation.leaseId)
      this.#options.onExpired(reservation)
    }
  }

  /** Stops the timer and the exit notice. */
  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.#stopExitNotice?.()
    this.#stopExitNotice = undefined
  }
}
