import { describe, expect, it } from 'vitest'
import { estimateTokens } from './estimate.js'

describe('estimateTokens', () => {
  it('counts about four ASCII characters per token and one per other character', () => {
    expect(estimateTokens('')).toBe(0)
    expect(estimateTokens('Hello, world')).toBe(3)
    expect(estimateTokens('こんにちは')).toBe(5)
    expect(estimateTokens('a'.repeat(400_000))).toBe(100_000)
  })
})
