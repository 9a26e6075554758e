/**
 * The engine's reservations not yet settled, in the order they were made. Every lease has the
 * same TTL, so that is expiry order: the ones that outlive it are found at the head, without a
 * timer each.
 */
export class OpenLeases<Reservation extends { readonly leaseId: string; readonly expiresAt: number }> {
  readonly #open = new Map<string, Reservation>()

  get size(): number {
    return this.#open.size
  }

  add(reservation: Reservation): void {
    this.#open.set(reservation.leaseId, reservation)
  }

  delete(leaseId: string): void {
    this.#open.delete(leaseId)
  }

  /** Removes and returns the reservations whose lease has expired at `now`. */
  takeExpired(now: number): Reservation[] {
    const expired: Reservation[] = []
    for (const reservation of this.#open.values()) {
      if (reservation.expiresAt > now) break
      expired.push(reservation)
    }
    for (const reservation of expired) this.#open.delete(reservation.leaseId)
    return expired
  }
}
