import { QuotaConfigError } from '../shared/errors.js'
import type { QuotaType, TimeUnit } from '../shared/types.js'
import { type AnchorSource, normalizeAnchorSource } from './anchor.js'
import { fail } from './config-check.js'
import { isTimeZone } from './time-zone.js'
import { parseStartTime } from './windows.js'

const quotaTypes: readonly QuotaType[] = ['default', 'calendar', 'flexi', 'rollingwindow']
const timeUnits: readonly TimeUnit[] = ['minute', 'hour', 'day', 'week', 'month', 'year']
/** Generous, but keeps window arithmetic far from floating-point trouble. */
const maxInterval = 1_000_000

/** A policy's window fields, checked. */
export interface WindowConfig {
  readonly type: QuotaType
  readonly interval: number
  readonly timeUnit: TimeUnit
  readonly startTime: number | undefined
  readonly timeZone: string | undefined
  /** Where each identifier's billing cycle starts (`month` or `year` windows of type `default`). */
  readonly anchor: AnchorSource | undefined
}

/** `type`, `interval`, `timeUnit`, `startTime`, `timeZone` and `anchor`, checked together. */
export function normalizeWindow(name: string, raw: Record<string, unknown>): WindowConfig {
  const type = raw.type ?? 'default'
  if (!quotaTypes.includes(type as QuotaType)) fail('InvalidQuotaType', name, 'type', `one of ${[...quotaTypes, 'balance'].join(', ')}`, type) // a balance is checked before (balance-policy.ts)

  const interval = raw.interval
  if (typeof interval !== 'number' || !Number.isInteger(interval) || interval < 1 || interval > maxInterval) {
    fail('InvalidQuotaInterval', name, 'interval', `a positive integer up to ${maxInterval}`, interval)
  }

  const timeUnit = raw.timeUnit
  if (!timeUnits.includes(timeUnit as TimeUnit)) fail('InvalidQuotaTimeUnit', name, 'timeUnit', `one of ${timeUnits.join(', ')}`, timeUnit)

  let startTime: number | undefined
  if (raw.startTime !== undefined) {
    if (type !== 'calendar') {
      throw new QuotaConfigError({
        code: 'StartTimeNotSupported',
        policy: name,
        field: 'startTime',
        message: `\`startTime\` applies only to type \`calendar\`, not \`${String(type)}\``,
      })
    }
    startTime = typeof raw.startTime === 'string' ? parseStartTime(raw.startTime) : undefined
    if (startTime === undefined) fail('InvalidStartTime', name, 'startTime', 'a UTC date and time `YYYY-MM-DD HH:mm:ss` from 1970 on', raw.startTime)
  } else if (type === 'calendar') {
    throw new QuotaConfigError({
      code: 'InvalidStartTime',
      policy: name,
      field: 'startTime',
      message: 'A `calendar` policy needs a `startTime` (`YYYY-MM-DD HH:mm:ss`, UTC)',
    })
  }

  return {
    type: type as QuotaType,
    interval: interval as number,
    timeUnit: timeUnit as TimeUnit,
    startTime,
    timeZone: normalizeTimeZone(name, type, raw.timeZone),
    anchor: normalizeAnchor(name, type, timeUnit, raw.anchor),
  }
}

function normalizeAnchor(name: string, type: unknown, timeUnit: unknown, anchor: unknown): AnchorSource | undefined {
  if (anchor === undefined) return undefined
  if (type !== 'default')
    fail('InvalidConfiguration', name, 'anchor', `absent on a \`${String(type)}\` policy (billing cycles are \`default\` windows of months or years)`, anchor)
  if (timeUnit !== 'month' && timeUnit !== 'year')
    fail('InvalidConfiguration', name, 'anchor', `absent with \`timeUnit: ${String(timeUnit)}\` (a billing cycle is counted in months or years)`, anchor)
  return normalizeAnchorSource(name, anchor)
}

function normalizeTimeZone(name: string, type: unknown, timeZone: unknown): string | undefined {
  if (timeZone === undefined) return undefined
  if (type !== 'default')
    fail('InvalidConfiguration', name, 'timeZone', `absent on a \`${String(type)}\` policy (it sets where \`default\` windows roll over)`, timeZone)
  if (!isTimeZone(timeZone)) fail('InvalidConfiguration', name, 'timeZone', 'an IANA time zone like `America/New_York`, or `UTC`', timeZone)
  return timeZone
}
