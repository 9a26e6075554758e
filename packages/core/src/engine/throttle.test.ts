import { expect, it } from 'vitest'
import { Throttle } from './throttle.js'

it('forgets the pacers whose window is over, even for identifiers that never call again', async () => {
  const throttle = new Throttle()
  const t0 = Date.UTC(2026, 2, 1)
  for (let user = 0; user < 1000; user += 1) throttle.activate(`user-daily\u0000u${user}`, t0 + 60_000, 1000, t0)
  expect(throttle.active).toBe(1000)
  throttle.activate('user-daily\u0000late', t0 + 10 * 60_000, 1000, t0 + 2 * 60_000)
  expect(throttle.active).toBe(1)
  await throttle.wait(['other'], t0 + 20 * 60_000)
  expect(throttle.active).toBe(0)
})
