import { afterEach, expect, it, vi } from 'vitest'
import { StoreUnavailableError } from '../shared/errors.js'
import { UpstashStore } from './upstash-store.js'

afterEach(() => {
  vi.useRealTimers()
})

const fixed = { kind: 'fixed' as const, start: 0, end: 60_000 }
const hung = { evalsha: () => new Promise<never>(() => undefined), eval: () => new Promise<never>(() => undefined) }

// Every call is one HTTPS request: Upstash waits up to 5 s by default, RedisStore 1 s.
it.each([
  ['not given', {}],
  ['given as undefined (an unset setting passed through)', { timeoutMs: undefined }],
])('waits up to 5 s for a call when timeoutMs is %s', async (_, options) => {
  vi.useFakeTimers()
  const store = new UpstashStore({ client: hung, ...options })
  const outcome = store.read({ now: 0, counters: [{ counter: 'c', identifier: '=a', window: fixed, limit: 10 }] }).then(
    () => 'answered',
    (error: unknown) => error,
  )
  let settled = false
  void outcome.then(() => {
    settled = true
  })
  await vi.advanceTimersByTimeAsync(4_999)
  expect(settled).toBe(false)
  await vi.advanceTimersByTimeAsync(1)
  expect(await outcome).toBeInstanceOf(StoreUnavailableError)
})
