import type { CounterRequest } from '../quota-store.js'

/**
 * Per counter of a reservation, what it holds (or, without `hold`, checks): its `amount`, or for
 * a counter of a fill group (`CounterRequest.group`) its share — as much of what the group still
 * needs as fits under the counter's limit (`room`), the rest on the group's last counter, which is
 * then checked against its limit like any other. Lua twin: `wanted` in redis/lua/reserve.ts.
 *
 * @param room Per counter: how much more its limit admits (`Infinity` without a limit).
 */
export function fillShares(counters: readonly CounterRequest[], room: (index: number) => number): number[] {
  const shares = new Array<number>(counters.length)
  const last = new Map<string, number>()
  for (let index = 0; index < counters.length; index += 1) {
    const { group } = counters[index]!
    if (group !== undefined) last.set(group, index)
  }
  const left = new Map<string, number>()
  for (let index = 0; index < counters.length; index += 1) {
    const { group, amount } = counters[index]!
    if (group === undefined) {
      shares[index] = amount
      continue
    }
    const needed = left.get(group) ?? amount
    const share = last.get(group) === index ? needed : Math.min(needed, Math.max(0, room(index)))
    shares[index] = share
    left.set(group, needed - share)
  }
  return shares
}
