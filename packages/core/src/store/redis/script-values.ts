import { StoreUnavailableError } from '../../shared/errors.js'
import type { WindowSpec } from '../quota-store.js'

/** A window kind's letter in the scripts. */
export const windowKind = { fixed: 'f', flexi: 'x', rolling: 'r', balance: 'b' } as const

/** The script arguments `a` and `b` that describe a window (see lua/common.ts). */
export function windowArgs(window: WindowSpec): [string, string] {
  switch (window.kind) {
    case 'fixed':
      return [String(window.start), String(window.end)]
    case 'flexi':
      return [String(window.endIfStartedNow), '']
    case 'rolling':
      return [String(window.length), String(window.bucket)]
    case 'balance':
      return ['', '']
  }
}

function unexpectedReply(operation: string, reply: unknown): StoreUnavailableError {
  return new StoreUnavailableError({ message: `Redis answered the ${operation} script with an unexpected reply: ${JSON.stringify(reply)?.slice(0, 200)}` })
}

/** A script reply of integers, or `StoreUnavailableError`. */
export function numbers(reply: unknown, operation: string): number[] {
  if (!Array.isArray(reply) || !reply.every((value) => typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value)))) {
    throw unexpectedReply(operation, reply)
  }
  return reply.map(Number)
}

/** A script reply that is a list (of strings, unless `any` items are allowed), or `StoreUnavailableError`. */
export function list(reply: unknown, operation: string, items: 'strings' | 'any' = 'strings'): unknown[] {
  if (!Array.isArray(reply) || (items === 'strings' && !reply.every((value) => typeof value === 'string'))) throw unexpectedReply(operation, reply)
  return reply
}
