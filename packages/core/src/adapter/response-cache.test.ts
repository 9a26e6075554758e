import { describe, expect, it } from 'vitest'
import { QuotaConfigError } from '../shared/errors.js'
import { ResponseCache } from './response-cache.js'

const request = (index: number, size: number) => ({ messages: [{ role: 'user', content: `${index}:${'x'.repeat(size)}` }] })

describe('ResponseCache', () => {
  it('is bounded by bytes as well as entries: 100 requests of 512 KB hold no more than maxBytes', () => {
    const cache = new ResponseCache({ maxBytes: 4 * 1024 * 1024 })
    const keys: string[] = []
    for (let index = 0; index < 100; index++) {
      const key = cache.keyOf({ user: 'alice' }, 'gpt-4o', request(index, 128 * 1024))!
      cache.set(key, 'y'.repeat(128 * 1024))
      keys.push(key)
    }
    expect(cache.bytes).toBeLessThanOrEqual(4 * 1024 * 1024)
    expect(cache.get(keys.at(-1)!)).toBe('y'.repeat(128 * 1024)) // the most recent stays
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
