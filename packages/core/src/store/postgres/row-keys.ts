import { createHash } from 'node:crypto'
import type { CounterRef } from '../quota-store.js'

/** Longest key kept as its JSON; a longer one is its SHA-256 (a btree entry must stay small). */
const maxPlainKey = 512

/** A row's key: the JSON of what it names, or `#` and its hash when long. One total order for every lock. */
export function rowKey(parts: ReadonlyArray<string | number>): string {
  const text = JSON.stringify(parts)
  return text.length <= maxPlainKey ? text : `#${createHash('sha256').update(text).digest('hex')}`
}

/** The row of a counter: a fixed window's own, else one per counter and identifier. */
export function counterKey(ref: CounterRef, shard: string | undefined): string {
  const { window } = ref
  const base = [shard ?? '', ref.counter, ref.identifier, window.kind]
  return rowKey(window.kind === 'fixed' ? [...base, window.start] : base)
}

/** An operator's target: an identifier of a counter family, or the family (`''`). */
export function targetKey(shard: string | undefined, counter: string, identifier: string): string {
  return rowKey([shard ?? '', counter, identifier])
}

/** The row of a balance counter: its holds and ledger position; its grants and ledger rows are keyed by it. */
export function balanceKey(ref: Pick<CounterRef, 'counter' | 'identifier'>, shard: string | undefined): string {
  return counterKey({ counter: ref.counter, identifier: ref.identifier, window: { kind: 'balance' } }, shard)
}

export function leaseKey(leaseId: string, shard: string | undefined): string {
  return rowKey([shard ?? '', leaseId])
}

/** The sorted distinct keys: the order every transaction locks rows in, so that none waits in a cycle. */
export function lockOrder(keys: Iterable<string>): string[] {
  return [...new Set(keys)].sort()
}
