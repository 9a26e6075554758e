import type { WindowSpec } from '../store/quota-store.js'
import type { WindowConfig } from './window-config.js'
import { addUnits, alignedWindow, anchoredWindow, calendarWindow, rollingBuckets, rollingLengthMs } from './windows.js'

/**
 * Where a policy's counter lives at `now`, for its window fields. `anchorDay`: an anchored
 * policy's identifier's anchor (see `anchorDayOf`); without one its windows are the calendar's.
 */
export function windowFunction({ type, interval, timeUnit, startTime, timeZone, anchor }: WindowConfig): (now: number, anchorDay?: number) => WindowSpec {
  switch (type) {
    case 'default': {
      const aligned = cachedFixedWindow((now) => alignedWindow(now, interval, timeUnit, timeZone))
      if (anchor === undefined) return aligned
      const unit = timeUnit as 'month' | 'year'
      const cycles = cachedCycles((now, anchorDay) => anchoredWindow(now, anchorDay, interval, unit, timeZone))
      return (now, anchorDay) => (anchorDay === undefined ? aligned(now) : cycles(now, anchorDay))
    }
    case 'calendar':
      return cachedFixedWindow((now) => calendarWindow(now, startTime!, interval, timeUnit))
    case 'flexi':
      return (now) => ({ kind: 'flexi', endIfStartedNow: addUnits(now, interval, timeUnit) })
    case 'rollingwindow': {
      const length = rollingLengthMs(interval, timeUnit)
      const spec: WindowSpec = { kind: 'rolling', length, bucket: length / rollingBuckets }
      return () => spec
    }
  }
}

/** Fixed windows change rarely: keep the last one while `now` is inside it (calendar math allocates). */
function cachedFixedWindow(compute: (now: number) => { start: number; end: number }): (now: number) => WindowSpec {
  let last: Extract<WindowSpec, { kind: 'fixed' }> | undefined
  return (now) => {
    if (last && now >= last.start && now < last.end) return last
    last = { kind: 'fixed', ...compute(now) }
    return last
  }
}

/** Cycles of the anchors seen lately (time-zone math formats dates): a bounded map, emptied when full. */
function cachedCycles(compute: (now: number, anchorDay: number) => { start: number; end: number }): (now: number, anchorDay: number) => WindowSpec {
  const byAnchor = new Map<number, Extract<WindowSpec, { kind: 'fixed' }>>()
  return (now, anchorDay) => {
    const last = byAnchor.get(anchorDay)
    if (last && now >= last.start && now < last.end) return last
    if (byAnchor.size >= maxCachedAnchors) byAnchor.clear()
    const cycle: Extract<WindowSpec, { kind: 'fixed' }> = { kind: 'fixed', ...compute(now, anchorDay) }
    byAnchor.set(anchorDay, cycle)
    return cycle
  }
}

const maxCachedAnchors = 1000
