import { describe, expect, it } from 'vitest'
import { createTokenQuota } from '../engine/token-quota.js'
import type { WarningEvent } from '../engine/events.js'
import type { QuotaPolicy } from '../policy/policy-types.js'
import { reserveCall } from './reserve-call.js'
import { StreamMeter, meterAsyncIterable, meterReadableStream } from './stream-meter.js'

/** A call reserved for a 100-token prompt and up to 1000 output tokens; the estimator counts characters. */
async function meteredCall(onStreamAbort?: 'produced' | 'reservation', count?: QuotaPolicy['count']) {
  const warnings: WarningEvent[] = []
  const quota = createTokenQuota({
    policies: [{ name: 'user-daily', identifier: 'user', allow: 100_000, interval: 1, timeUnit: 'day', count }],
    estimator: (text) => text.length,
    on: { warning: (event) => warnings.push(event) },
  })
  const options = { quota, onStreamAbort }
  const reservation = await reserveCall(options, { label: 'chat', context: { user: 'u' }, promptTokens: 100, outputTokens: 1000, model: 'm', params: {} })
  if (reservation.kind !== 'metered') throw new Error('expected a metered call')
  const used = async () => (await quota.status({ user: 'u' }))[0]!
  return { call: reservation.call, used, warnings }
}

describe('StreamMeter settles its call once, by what the stream showed', () => {
  it.each([
    { name: 'usage, then a cancel', steps: ['text', 'usage', 'stop'], used: 57, warned: false },
    { name: 'usage, then the end', steps: ['text', 'usage', 'end'], used: 57, warned: false },
    { name: 'a stop before any usage (produced text)', steps: ['text', 'stop'], used: 105, warned: false },
    { name: 'a stop before any text (the reservation)', steps: ['stop'], used: 1100, warned: false },
    { name: 'the end marker, then a cancel: an end without usage', steps: ['text', 'marker', 'stop'], used: 105, warned: true },
    { name: 'an end without usage: an estimate, reported', steps: ['text', 'end'], used: 105, warned: true },
    { name: 'usage repeated on every chunk: the last one at the end', steps: ['last:10', 'text', 'last:42', 'end'], used: 42, warned: false },
    { name: 'repeated usage, then a stop: what was produced', steps: ['last:42', 'text', 'stop'], used: 105, warned: false },
    { name: 'the prompt counted by the provider, then a stop: its count and what was produced', steps: ['prompt:80', 'text', 'stop'], used: 85, warned: false },
    { name: 'the prompt counted, then the usage: the usage', steps: ['prompt:80', 'text', 'usage', 'stop'], used: 57, warned: false },
    { name: 'the prompt counted, then an end without usage: its count and what was produced', steps: ['prompt:80', 'text', 'end'], used: 85, warned: true },
  ])('$name', async ({ steps, used, warned }) => {
    const { call, used: status, warnings } = await meteredCall()
    const meter = new StreamMeter(call)
    for (const step of steps) {
      if (step === 'text') meter.text('hello')
      else if (step === 'usage') await meter.usage({ input: 50, output: 7 })
      else if (step === 'marker') meter.endMarker()
      else if (step === 'end') await meter.end()
      else if (step === 'stop') await meter.stop()
      else if (step.startsWith('prompt:')) meter.promptCounted(Number(step.slice(7)))
      else meter.lastUsage({ total: Number(step.slice(5)) })
    }
    expect(await status()).toMatchObject({ used, reserved: 0 })
    expect(warnings.some((warning) => warning.code === 'UsageMissing')).toBe(warned)
    expect(meter.settled).toBe(true)
  })

  it("charges the whole reservation on an early stop when the call's rule says so", async () => {
    const { call, used } = await meteredCall('reservation')
    const meter = new StreamMeter(call)
    meter.text('hello')
    await meter.stop()
    expect(await used()).toMatchObject({ used: 1100 })
  })

  it("charges the provider's count of the prompt with its cache shares at their own weights, on a stop or an end without usage", async () => {
    const weights = { input: 1, cachedInput: 0.1, cacheWrite: 2, output: 1 }
    for (const [prompt, used] of [
      [{ input: 1000, cachedInput: 900, cacheWrite: 50 }, 50 + 90 + 100 + 5],
      // A share that does not fit in the prompt, or is malformed, is dropped: charged as plain input.
      [{ input: 1000, cachedInput: 990, cacheWrite: 50 }, 1000 + 5],
      [{ input: 1000, cachedInput: 1.5 }, 1000 + 5],
    ] as const) {
      for (const ending of ['stop', 'end'] as const) {
        const { call, used: status } = await meteredCall(undefined, weights)
        const meter = new StreamMeter(call)
        meter.promptCounted(prompt)
        meter.text('hello')
        await (ending === 'stop' ? meter.stop() : meter.end())
        expect(await status(), `${JSON.stringify(prompt)} ${ending}`).toMatchObject({ used, reserved: 0 })
      }
    }
  })

  it('parses unread text only when it is needed', async () => {
    const { call, used } = await meteredCall()
    let reads = 0
    const meter = new StreamMeter(call, { unreadText: () => `${++reads}xxxx` })
    await meter.usage({ input: 1, output: 1 })
    expect(reads).toBe(0)
    const other = await meteredCall()
    const estimated = new StreamMeter(other.call, { unreadText: () => 'abcdefghij' })
    await estimated.end()
    expect(await other.used()).toMatchObject({ used: 110 })
    expect(await used()).toMatchObject({ used: 2 })
  })
})

async function* texts(...items: string[]): AsyncGenerator<string> {
  yield* items
}

describe('the stream pumps', () => {
  it('a readable stream: forwards what `pass` returns, flushes, and ends the meter before the consumer sees the end', async () => {
    const { call, used } = await meteredCall()
    const meter = new StreamMeter(call)
    const source = ReadableStream.from(['a', 'skip', 'b'])
    const stream = meterReadableStream(
      source,
      meter,
      (item) => {
        meter.text(item)
        return item === 'skip' ? undefined : item.toUpperCase()
      },
      () => '!',
    )
    const seen: string[] = []
    for await (const item of stream) seen.push(item)
    expect(seen).toEqual(['A', 'B', '!'])
    expect(await used()).toMatchObject({ used: 106, reserved: 0 })
  })

  it('a readable stream cancelled by its consumer: charged for what it produced', async () => {
    const { call, used } = await meteredCall()
    const meter = new StreamMeter(call)
    const stream = meterReadableStream(ReadableStream.from(['abc', 'def', 'ghi']), meter, (item) => {
      meter.text(item)
      return item
    })
    const reader = stream.getReader()
    await reader.read()
    await reader.cancel()
    expect(await used()).toMatchObject({ used: 103, reserved: 0 })
  })

  it('an async iterable the consumer breaks off: charged for what it produced', async () => {
    const { call, used } = await meteredCall()
    const meter = new StreamMeter(call)
    for await (const item of meterAsyncIterable(texts('abcd', 'efgh'), meter, (text) => meter.text(text))) if (item === 'abcd') break
    expect(await used()).toMatchObject({ used: 104, reserved: 0 })
  })
})
