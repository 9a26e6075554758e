import type { WindowSpec } from '../store/quota-store.js'
import type { WindowConfig } from './window-config.js'
import { addUnits, alignedWindow, calendarWindow, rollingBuckets, rollingLengthMs } from './windows.js'

/** Where a policy's counter lives at `now`, for its window fields. */
export function windowFunction({ type, interval, timeUnit, startTime, timeZone }: WindowConfig): (now: number) => WindowSpec {
  switch (type) {
    case 'default':
      return cachedFixedWindow((now) => alignedWindow(now, interval, timeUnit, timeZone))
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
