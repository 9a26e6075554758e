import { describe, expect, it } from 'vitest'
import { answerTextOf, isUsageEvent, usageOf } from './usage.js'

describe('OpenAI response side (usage.ts)', () => {
  it('reads chat usage with its cached and reasoning shares, and no output for embeddings', () => {
    const usage = {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 2 },
    }
    expect(usageOf('chat', { usage })).toEqual({ input: 10, output: 5, total: 15, cachedInput: 4, reasoning: 2 })
    expect(usageOf('embeddings', { usage: { prompt_tokens: 7, total_tokens: 7 } })?.output).toBe(0)
    expect(usageOf('chat', { choices: [] })).toBeUndefined()
  })

  it('reads the Responses API usage from a final stream event as from a complete response', () => {
    const response = { usage: { input_tokens: 8, output_tokens: 3, total_tokens: 11 } }
    const event = { type: 'response.completed', response }
    expect(isUsageEvent('responses', event)).toBe(true)
    expect(usageOf('responses', event)).toEqual(usageOf('responses', response))
    expect(usageOf('responses', event)?.total).toBe(11)
  })

  it('gives one text answer only: none for tool calls or several choices', () => {
    expect(answerTextOf('chat', { choices: [{ message: { content: 'hi' } }] })).toBe('hi')
    expect(answerTextOf('chat', { choices: [{ message: { content: null, tool_calls: [{}] } }] })).toBeUndefined()
    expect(answerTextOf('completions', { choices: [{ text: 'a' }, { text: 'b' }] })).toBeUndefined()
  })
})
