import { expect, it } from 'vitest'
import { mergeUsage, usageOf } from './usage.js'

// A count that is missing or null (NaN in JSON) is malformed, for the engine to charge an estimate of
// the prompt and the output received: read as 0, a stream whose counts came as null cost 1 token.
it('reads a missing or null input or output count as malformed, never as 0', () => {
  expect(usageOf({ input_tokens: null, output_tokens: null })).toMatchObject({ input: Number.NaN, output: Number.NaN })
  expect(usageOf({ input_tokens: 10 })).toMatchObject({ input: 10, output: Number.NaN })
  expect(usageOf({ output_tokens: 5 })).toMatchObject({ input: Number.NaN, output: 5 })
  // A stream: message_start's null input stays malformed when message_delta brings only the output.
  expect(usageOf(mergeUsage({ input_tokens: null, output_tokens: 1 }, { output_tokens: null }))?.input).toBeNaN()
  // message_start's output count (1) is a placeholder, never the final count.
  expect(usageOf(mergeUsage({ input_tokens: 10, output_tokens: 1 }, { output_tokens: null }))?.output).toBeNaN()
  expect(usageOf(mergeUsage({ input_tokens: 10, output_tokens: 1 }, {}))?.output).toBeNaN()
})

it('adds a cache share to the prompt only when it is a count', () => {
  expect(usageOf({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: -9 })).toMatchObject({ input: 10, cachedInput: -9 })
})

it('reads complete usage, the cache fields optional', () => {
  expect(usageOf({ input_tokens: 10, output_tokens: 5 })).toEqual({ input: 10, output: 5, cachedInput: 0, cacheWrite: 0 })
  expect(usageOf({ input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 90, cache_creation_input_tokens: null })).toEqual({
    input: 100,
    output: 5,
    cachedInput: 90,
    cacheWrite: 0,
  })
})
