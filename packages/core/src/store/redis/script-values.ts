import { StoreUnavailableError } from '../../shared/errors.js'
import type { WindowSpec } from '../quota-store.js'

/** A window kind's letter in the scripts. */
export const windowKind = { fixed: 'f', flexi: 'x', rolling: 'r' } as const

/** The script arguments `a` and `b` that describe a window (see lua/common.ts). */
export function windowArgs(window: WindowSpec): [string, string] {
  switch (window.kind) {
    case 'fixed':
      return [String(window.start), String(window.end)]
    case 'flexi':
      return [String(window.endIfStartedNow), '']
    case 'rolling':
      return [String(window.length), String(window.bucket)]
  }
}

/** A script reply of integers, or `StoreUnavailableError`. */
export function numbers(reply: unknown, operation: string): number[] {
  if (!Array.isArray(reply) || !reply.every((value) => typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value)))) {
    throw new StoreUnavailableError({ message: `Redis answered the ${operation} script with an unexpected reply: ${JSON.stringify(reply)?.slice(0, 200)}` })
  }
  return reply.map(Number)
}
