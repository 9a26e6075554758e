import { noticeUnsettledAtExit } from './exit-notice.js'

/** A reservation as watched: `open` is set while it waits to be settled. */
export interface Watched {
  readonly leaseId: string
  readonly expiresAt: number
  open?: boolean
  /** Watched apart from the queue: it has its own lifetime, or was extended. */
  apart?: boolean
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
 * expires first. Leases with the quota's default TTL expire in the order they were made: the
 * expired ones are at the head of one queue, found without a timer each, and settling only clears
 * a flag (no lookup by id on the hot path). A lease with its own lifetime, or extended, is watched
 * apart (a set, walked at each check), so it never delays the report of the queue's leases. A
 * single unref'd timer checks while any is open; the process's exit notice counts them.
 */
export class LeaseExpiryWatch<Reservation extends Watched> {
  #queue: Array<Reservation | undefined> = []
  #head = 0
  #open = 0
  /** Settled reservations still in the queue (behind an open one): compacted away when they are most of it. */
  #settledInQueue = 0
  /** Leases with their own lifetime, or extended: any order of expiry. */
  readonly #apart = new Set<Reservation>()
  readonly #options: LeaseExpiryWatchOptions<Reservation>
  #timer: ReturnType<typeof setInterval> | undefined
  #stopExitNotice: (() => void) | undefined

  constructor(options: LeaseExpiryWatchOptions<Reservation>) {
    this.#options = options
  }

  /** Watches a reservation: in expiry order with the others of the default TTL (`ordered`), or apart. */
  watch(reservation: Reservation, ordered = true): void {
    reservation.open = true
    if (ordered) this.#queue.push(reservation)
    else this.#keepApart(reservation)
    this.#open += 1
    if (this.#timer !== undefined) return
    this.#timer = setInterval(() => this.check(this.#options.now()), this.#options.checkEveryMs)
    this.#timer.unref?.()
    this.#stopExitNotice ??= noticeUnsettledAtExit(() => this.#open + this.#options.pendingWrites())
  }

  /** The reservation's expiry moved (`lease.extend`): it leaves the queue's order. */
  moved(reservation: Reservation): void {
    if (!reservation.open || reservation.apart) return
    this.#settledInQueue += 1
    this.#keepApart(reservation)
  }

  #keepApart(reservation: Reservation): void {
    reservation.apart = true
    this.#apart.add(reservation)
  }

  settled(reservation: Reservation): void {
    if (!reservation.open) return
    reservation.open = false
    this.#open -= 1
    if (reservation.apart) {
      this.#apart.delete(reservation)
      return
    }
    this.#settledInQueue += 1
    const queued = this.#queue.length - this.#head
    if (this.#settledInQueue > 1024 && this.#settledInQueue * 2 > queued) {
      this.#queue = this.#queue.filter((entry) => entry?.open === true && !entry.apart)
      this.#head = 0
      this.#settledInQueue = 0
    }
  }

  /** Reports (and forgets) the reservations whose lease has expired at `now`. */
  check(now: number): void {
    const queue = this.#queue
    for (
      let reservation = queue[this.#head];
      reservation !== undefined && (!reservation.open || reservation.apart || reservation.expiresAt <= now);
      reservation = queue[this.#head]
    ) {
      queue[this.#head] = undefined
      this.#head += 1
      if (!reservation.open || reservation.apart) {
        this.#settledInQueue -= 1
        continue
      }
      reservation.open = false
      this.#open -= 1
      this.#options.onExpired(reservation)
    }
    if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head)
      this.#head = 0
    }
    for (const reservation of this.#apart) {
      if (reservation.expiresAt > now) continue
      this.#apart.delete(reservation)
      reservation.open = false
      this.#open -= 1
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
