/** A clock that moves only when told: pass `clock.now` as the quota's `now` option. */
export interface FakeClock {
  now(): number
  advance(ms: number): number
  set(time: number | string): number
}

/** Creates a fake clock starting at `start` (epoch ms or an ISO date string). */
export function createFakeClock(start: number | string = '2026-01-01T00:00:00Z'): FakeClock {
  const toMs = (time: number | string) => (typeof time === 'number' ? time : Date.parse(time))
  let current = toMs(start)
  return {
    now: () => current,
    advance(ms) {
      current += ms
      return current
    },
    set(time) {
      current = toMs(time)
      return current
    },
  }
}
