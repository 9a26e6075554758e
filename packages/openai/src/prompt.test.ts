import { describe, expect, it } from 'vitest'
import { endpointOf, maxOutputTokens, promptOf } from './prompt.js'

describe('OpenAI request side (prompt.ts)', () => {
  it('knows the metered endpoints by the end of a POST path, Azure deployments included', () => {
    expect(endpointOf('POST', '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21')).toBe('chat')
    expect(endpointOf('post', '/v1/responses/')).toBe('responses')
    expect(endpointOf('post', '/v1/completions')).toBe('completions')
    expect(endpointOf('get', '/v1/responses')).toBeUndefined()
    expect(endpointOf('post', '/v1/files')).toBeUndefined()
  })

  it('counts pre-tokenized input one token per number, and an unknown shape by its whole body, never zero', () => {
    expect(
      promptOf('embeddings', {
        model: 'text-embedding-3-small',
        input: [
          [1, 2, 3],
          [4, 5],
        ],
      }).fixedTokens,
    ).toBe(5)
    const body = { model: 'gpt-4o', conversation: 'hello there' }
    expect(promptOf('chat', body).texts).toEqual([JSON.stringify(body)])
  })

  it('bounds output by the cap times the choices asked for', () => {
    expect(maxOutputTokens('chat', { max_completion_tokens: 100, n: 3 }, 4096)).toBe(300)
    expect(maxOutputTokens('completions', { best_of: 2, n: 2 }, 4096)).toBe(16 * 4)
    expect(maxOutputTokens('embeddings', { max_tokens: 100 }, 4096)).toBe(0)
  })
})
