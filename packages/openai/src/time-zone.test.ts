import { createTokenQuota, type QuotaPolicy, TokenQuotaExceededError } from '@tokenquota/core'
import { createFakeClock } from '@tokenquota/core/testing'
import { baseURL, chatCompletion, createProviderServer, json } from '@tokenquota/test-support'
import OpenAI from 'openai'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { withTokenQuota } from './with-token-quota.js'

const server = createProviderServer()
beforeAll(() => server.listen())
afterEach(() => server.reset())
afterAll(() => server.close())

/** A daily budget that one call spends: the next call that day is refused. */
function setup(timeZone?: string) {
  const clock = createFakeClock()
  const policy: QuotaPolicy = { name: 'user-daily', identifier: 'user', allow: 200, interval: 1, timeUnit: 'day', ...(timeZone && { timeZone }) }
  const quota = createTokenQuota({ policies: [policy], now: clock.now })
  const client = withTokenQuota(new OpenAI({ apiKey: 'sk-test', baseURL, maxRetries: 0 }), { quota })
  server.reply('/chat/completions', json(chatCompletion({ content: 'ok', usage: { prompt: 150, completion: 40 } })))
  /** Sends one call at `at` (UTC); resolves with whether it was admitted. */
  const callAt = async (at: string) => {
    clock.set(at)
    const call = quota.withContext({ user: 'alice' }, () =>
      client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 40 }),
    )
    return call.then(
      () => true,
      (error: unknown) => {
        if (TokenQuotaExceededError.isInstance(error)) return false
        throw error
      },
    )
  }
  return { callAt }
}

describe('a daily policy in America/New_York, through the OpenAI adapter', () => {
  it('rolls over at local midnight, not UTC midnight', async () => {
    const newYork = setup('America/New_York')
    expect(await newYork.callAt('2026-06-10T03:30:00Z')).toBe(true) // 23:30 EDT on the 9th
    expect(await newYork.callAt('2026-06-10T04:30:00Z')).toBe(true) // 00:30 EDT on the 10th: a new day
    expect(await newYork.callAt('2026-06-10T23:30:00Z')).toBe(false) // 19:30 EDT, same day
    const utc = setup()
    expect(await utc.callAt('2026-06-10T03:30:00Z')).toBe(true)
    expect(await utc.callAt('2026-06-10T04:30:00Z')).toBe(false) // the same UTC day
  })

  it('spring forward: the 23-hour day of 8 March ends at 04:00 UTC', async () => {
    const { callAt } = setup('America/New_York')
    expect(await callAt('2026-03-08T05:00:00Z')).toBe(true) // 00:00 EST, the day starts
    expect(await callAt('2026-03-09T03:59:59Z')).toBe(false) // 23:59:59 EDT, still the 8th
    expect(await callAt('2026-03-09T04:00:00Z')).toBe(true) // 00:00 EDT on the 9th
  })

  it('fall back: the 25-hour day of 1 November ends at 05:00 UTC', async () => {
    const { callAt } = setup('America/New_York')
    expect(await callAt('2026-11-01T04:00:00Z')).toBe(true) // 00:00 EDT, the day starts
    expect(await callAt('2026-11-02T04:30:00Z')).toBe(false) // 23:30 EST, still the 1st (24.5 h later)
    expect(await callAt('2026-11-02T05:00:00Z')).toBe(true) // 00:00 EST on the 2nd
  })
})
