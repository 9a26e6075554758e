import { describe, expect, it } from 'vitest'
import { QuotaConfigError } from '../shared/errors.js'
import { ResponseCache } from './response-cache.js'

const request = (index: number, size: number) => ({ messages: [{ role: 'user', content: `${index}:${'x'.repeat(size)}` }] })

describe('ResponseCache', () => {
  it('is bounded by bytes as well as entries: 100 requests of 32 KB hold no more than maxBytes', () => {
    // 100 entries of 32 KB (request and answer, 2 bytes a character) under a 256 KB bound: 8 fit,
    // far under the 1,000 entries bound, so only the byte bound can evict the oldest.
    const cache = new ResponseCache({ maxBytes: 256 * 1024 })
    const keys: string[] = []
    for (let index = 0; index < 100; index++) {
      const key = cache.keyOf({ user: 'alice' }, 'gpt-4o', request(index, 8 * 1024))!
      cache.set(key, 'y'.repeat(8 * 1024))
      keys.push(key)
    }
    expect(cache.bytes).toBeLessThanOrEqual(256 * 1024)
    expect(cache.get(keys.at(-1)!)).toBe('y'.repeat(8 * 1024)) // the most recent stays
    expect(cache.get(keys[0]!)).toBeUndefined() // the oldest went first
  })

  it('has a default byte bound, and keeps no answer larger than the whole bound', () => {
    expect(new ResponseCache().maxBytes).toBe(32 * 1024 * 1024)
    const cache = new ResponseCache({ maxBytes: 1024 })
    const key = cache.keyOf({ user: 'alice' }, 'gpt-4o', request(1, 10))!
    cache.set(key, 'z'.repeat(2048))
    expect(cache.get(key)).toBeUndefined()
    expect(cache.bytes).toBe(0)
  })

  it('rejects bounds that are not positive integers', () => {
    for (const options of [{ maxBytes: 0 }, { maxBytes: -1 }, { maxEntries: 1.5 }, { ttlMs: Number.NaN }])
      expect(() => new ResponseCache(options)).toThrow(QuotaConfigError)
  })
})
