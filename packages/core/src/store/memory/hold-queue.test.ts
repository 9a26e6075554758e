import { describe, expect, it } from 'vitest'
import { HoldQueue } from './hold-queue.js'

interface TestHold {
  readonly name: string
  expiresAt: number
  returned: boolean
}

const hold = (name: string, expiresAt: number): TestHold => ({ name, expiresAt, returned: false })

function expiredAt(queue: HoldQueue<TestHold>, now: number): string[] {
  const names: string[] = []
  queue.takeExpired(now, (expired) => {
    expired.returned = true
    names.push(expired.name)
  })
  return names
}

describe('HoldQueue', () => {
  it('moves an extended hold to its new expiry, later or earlier, among many', () => {
    const queue = new HoldQueue<TestHold>()
    const holds = Array.from({ length: 50 }, (_, index) => hold(`h${index}`, 1000 + index * 10))
    for (const entry of holds) queue.push(entry)
    holds[3]!.expiresAt = 5000 // extended past every other
    queue.moved(holds[3]!)
    holds[40]!.expiresAt = 10 // moved before every other
    queue.moved(holds[40]!)
    expect(expiredAt(queue, 10)).toEqual(['h40'])
    expect(expiredAt(queue, 1030)).toEqual(['h0', 'h1', 'h2'])
    expect(expiredAt(queue, 4999)).toEqual(
      holds
        .slice(4)
        .filter((entry) => entry.name !== 'h40')
        .map((entry) => entry.name),
    )
    expect(expiredAt(queue, 5000)).toEqual(['h3'])
  })

  it('expires each hold at its own expiry, whatever the order holds came in (a long hold does not block short ones behind it)', () => {
    const queue = new HoldQueue<TestHold>()
    for (const [name, expiresAt] of [
      ['long', 1_000_000],
      ['a', 300],
      ['b', 100],
      ['c', 200],
      ['d', 100],
    ] as const)
      queue.push(hold(name, expiresAt))
    expect(expiredAt(queue, 99)).toEqual([])
    expect(expiredAt(queue, 100).sort()).toEqual(['b', 'd'])
    expect(expiredAt(queue, 250)).toEqual(['c'])
    expect(expiredAt(queue, 999_999)).toEqual(['a'])
    expect(expiredAt(queue, 1_000_000)).toEqual(['long'])
    expect(queue.size).toBe(0)
  })

  it('skips returned holds, and compacts them once they are most of the queue', () => {
    const queue = new HoldQueue<TestHold>()
    const holds = Array.from({ length: 3000 }, (_, index) => hold(`h${index}`, 10_000 - index))
    for (const each of holds) queue.push(each)
    for (const each of holds) {
      if (each.name === 'h1234') continue
      each.returned = true
      queue.noteReturned()
    }
    expect(queue.size).toBeLessThan(3000) // compacted along the way
    expect(expiredAt(queue, 10_000)).toEqual(['h1234'])
    expect(queue.size).toBe(0)
  })

  it('orders thousands of random expiries exactly', () => {
    const queue = new HoldQueue<TestHold>()
    let seed = 7
    const random = () => {
      seed = (seed * 48_271) % 2_147_483_647
      return seed
    }
    const expiries = Array.from({ length: 2000 }, () => random() % 5000)
    for (const [index, expiresAt] of expiries.entries()) queue.push(hold(String(index), expiresAt))
    const seen: number[] = []
    for (let now = 0; now < 5000; now += 37) queue.takeExpired(now, (expired) => seen.push(expired.expiresAt))
    queue.takeExpired(5000, (expired) => seen.push(expired.expiresAt))
    expect(seen).toEqual([...expiries].sort((a, b) => a - b))
  })
})
