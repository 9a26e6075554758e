import { describe, expect, it } from 'vitest'
import type { CounterRequest } from '../quota-store.js'
import { fillShares } from './fill.js'

const window = { kind: 'fixed', start: 0, end: 60_000 } as const
const counter = (amount: number, group?: string): CounterRequest => ({
  counter: 'c',
  identifier: '=a',
  window,
  amount,
  hold: true,
  ...(group ? { group } : {}),
})

describe('fillShares', () => {
  it.each([
    { name: 'counters on their own keep their amounts', counters: [counter(10), counter(20)], room: [0, 0], shares: [10, 20] },
    { name: 'a group fills its first counter, then the rest', counters: [counter(120, 'g'), counter(120, 'g')], room: [100, 50], shares: [100, 20] },
    { name: 'a full first counter passes everything on', counters: [counter(30, 'g'), counter(30, 'g')], room: [0, 50], shares: [0, 30] },
    { name: 'an over-full first counter (negative room) holds nothing', counters: [counter(30, 'g'), counter(30, 'g')], room: [-5, 50], shares: [0, 30] },
    {
      name: 'the last counter takes the rest even past its room (the store then refuses it)',
      counters: [counter(200, 'g'), counter(200, 'g')],
      room: [100, 50],
      shares: [100, 100],
    },
    {
      name: 'three in a group, and counters on their own between them',
      counters: [counter(90, 'g'), counter(7), counter(90, 'g'), counter(90, 'g')],
      room: [40, 0, 30, 0],
      shares: [40, 7, 30, 20],
    },
    {
      name: 'two groups apart',
      counters: [counter(10, 'a'), counter(10, 'b'), counter(10, 'a'), counter(10, 'b')],
      room: [4, Infinity, 100, 0],
      shares: [4, 10, 6, 0],
    },
  ])('$name', ({ counters, room, shares }) => {
    expect(fillShares(counters, (index) => room[index]!)).toEqual(shares)
  })
})
