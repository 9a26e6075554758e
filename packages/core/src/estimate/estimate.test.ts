import { estimateCorpus, realTokens } from '@tokenquota/test-support'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { estimateTokens } from './estimate.js'

const corpus = estimateCorpus()

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The estimate is at least what either tokenizer counts. */
function boundsRealCount(text: string): boolean {
  const real = realTokens(text)
  return estimateTokens(text) >= Math.max(real.o200k, real.cl100k)
}

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const nanoidAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
const stringOf = (alphabet: string, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength })

describe('estimateTokens', () => {
  it('has a corpus with every kind of text it promises to bound', () => {
    const kinds = new Set(corpus.map((sample) => sample.kind))
    for (const kind of ['prose', 'code', 'json', 'csv', 'numbers', 'ids', 'base64', 'urls', 'markdown', 'cjk', 'arabic', 'hindi', 'emoji', 'mixed'])
      expect(kinds).toContain(kind)
    expect(corpus.filter((sample) => sample.kind === 'code').map((sample) => sample.name.split('.')[1])).toEqual(
      expect.arrayContaining(['go', 'py', 'rs', 'ts']),
    )
  })

  it.each(corpus.map((sample) => [sample.name, sample.text] as const))('is at least the real o200k_base and cl100k_base count of %s', (_name, text) => {
    const real = realTokens(text)
    const estimate = estimateTokens(text)
    expect(estimate).toBeGreaterThanOrEqual(real.o200k)
    expect(estimate).toBeGreaterThanOrEqual(real.cl100k)
  })

  it.each(['prose', 'code'])('stays within 1.35× of the real count on %s (median of the corpus samples, both tokenizers)', (kind) => {
    const samples = corpus.filter((sample) => sample.kind === kind)
    for (const encoding of ['o200k', 'cl100k'] as const) {
      const ratios = samples.map((sample) => estimateTokens(sample.text) / realTokens(sample.text)[encoding])
      expect(median(ratios)).toBeLessThanOrEqual(1.35)
    }
  })

  it('bounds generated JSON, ids and numbers', () => {
    const generated = fc.oneof(
      fc.json(),
      fc.uuid().map(String),
      stringOf('0123456789abcdef', 64),
      stringOf(base64Alphabet, 200),
      stringOf(nanoidAlphabet, 40),
      fc.array(fc.integer()).map((values) => values.join(',')),
      fc.array(fc.double({ noNaN: true })).map((values) => JSON.stringify(values)),
      fc
        .array(fc.record({ id: fc.uuid(), count: fc.nat(), score: fc.float({ noNaN: true }), label: fc.string() }))
        .map((rows) => JSON.stringify(rows, null, 2)),
    )
    fc.assert(fc.property(generated, boundsRealCount), { numRuns: 3000 })
  })

  it('charges short random text its byte count, which no tokenizer exceeds', () => {
    expect(estimateTokens('')).toBe(0)
    expect(estimateTokens('"*GQx^%6FfD"')).toBe(12)
    expect(estimateTokens('㾟嵊')).toBe(6)
  })

  it('charges a long text far below its byte count when it reads as words', () => {
    const prose = corpus.find((sample) => sample.name === 'prose-story.txt')!.text.repeat(50)
    expect(estimateTokens(prose)).toBeLessThan(Buffer.byteLength(prose) / 3)
  })
})
