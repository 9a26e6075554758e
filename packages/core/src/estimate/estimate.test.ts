import { estimateCorpus, realTokens } from '@tokenquota/test-support/tokens'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { estimateTokens } from './estimate.js'
import { tokenizerOfModel } from './tokenizer-family.js'

const corpus = estimateCorpus()

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** Each tokenizer's estimate is at least what it counts, and the estimate without one at least what either counts. */
function boundsRealCount(text: string): boolean {
  const real = realTokens(text)
  return (
    estimateTokens(text) >= Math.max(real.o200k, real.cl100k) &&
    estimateTokens(text, { tokenizer: 'o200k_base' }) >= real.o200k &&
    estimateTokens(text, { tokenizer: 'cl100k_base' }) >= real.cl100k
  )
}

/** Starts of every 128-code-point block: the BMP (no surrogates), the emoji planes, CJK extensions, tags, private use. */
const blockStarts: number[] = []
for (let start = 0x80; start < 0x10000; start += 128) if (start < 0xd800 || start >= 0xe000) blockStarts.push(start)
for (let start = 0x10000; start < 0x20000; start += 128) blockStarts.push(start)
blockStarts.push(0x20000, 0x2a700, 0x30000, 0xe0000, 0xf0000, 0x10ff00)

/** Text from one Unicode block: dense, sparse (spaces, whitespace runs), a small alphabet repeated, or with marks, ZWJ and lone surrogates. */
const blockText = fc.constantFrom(...blockStarts).chain((start) => {
  const character = fc.integer({ min: start, max: start + 127 }).map((codePoint) => String.fromCodePoint(codePoint))
  const separator = fc.constantFrom(' ', '  ', '\n', '\t', ' \n ', '\u200d', '\u0301', '\ufe0f', '\ud800', '\udc00', 'a', '.')
  return fc.oneof(
    fc.array(character, { minLength: 1, maxLength: 60 }).map((characters) => characters.join('')),
    fc
      .array(fc.tuple(fc.option(separator, { freq: 2 }), character), { minLength: 1, maxLength: 40 })
      .map((parts) => parts.map(([before, after]) => (before ?? '') + after).join('')),
    fc
      .tuple(fc.array(character, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(2), { minLength: 2, maxLength: 80 }))
      .map(([alphabet, picks]) => picks.map((pick) => alphabet[pick % alphabet.length]).join('')),
    fc.tuple(character, character, fc.integer({ min: 2, max: 50 }), fc.boolean()).map(([a, b, times, spaced]) => (spaced ? ' ' : '') + (a + b).repeat(times)),
  )
})

const base64Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const nanoidAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-'
const stringOf = (alphabet: string, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength })
/** ASCII punctuation after a word, a space or nothing: one character repeated, or one to three mixed (the blocks above start after ASCII). */
const punctuation = fc.constantFrom(...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~')
const punctuationRun = fc
  .tuple(
    fc.constantFrom('', ' ', 'a', 'a '),
    fc.oneof(
      fc.tuple(punctuation, fc.integer({ min: 1, max: 80 })).map(([character, times]) => character.repeat(times)),
      fc
        .tuple(fc.array(punctuation, { minLength: 1, maxLength: 3 }), fc.array(fc.nat(2), { minLength: 1, maxLength: 80 }))
        .map(([alphabet, picks]) => picks.map((pick) => alphabet[pick % alphabet.length]).join('')),
    ),
  )
  .map(([before, run]) => before + run)

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

  it('bounds generated JSON, ids, numbers and punctuation', () => {
    const generated = fc.oneof(
      fc.json(),
      punctuationRun,
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

  // Found by the property below: a run of two or three letters in random order merges far less
  // than the chain rule assumed (o200k counts 9 tokens for the first; the estimate said 8), and a
  // repeated pair of rare Hangul syllables splits more than its characters alone (cl100k counts 55
  // for the fourth, whose characters cost 44 alone; the estimate said 50).
  it.each(['μωωωωμμωωμ', 'ทนททนทนททนทท', 'దపపదపదదపపపదపపద', '키탂'.repeat(11), ` ${'태춠'.repeat(14)}`, '탤탤들'.repeat(19)])(
    'bounds a run of a small alphabet in random order: %s',
    (text) => {
      expect(boundsRealCount(text)).toBe(true)
    },
  )

  it('bounds text from every Unicode block, dense and sparse, under each tokenizer and both', () => {
    fc.assert(fc.property(blockText, boundsRealCount), { numRuns: 4000 })
  })

  // Found by the punctuation runs above: `""` is one token but `""""` two (18 `"` are 9 cl100k
  // tokens; the estimate said 8), and a space taken into a run shifts its splits (` }` then `}}`).
  it.each(['"'.repeat(18), `a ${')'.repeat(27)}`, ` ${'}'.repeat(64)}`, "'".repeat(25)])('bounds a run of repeated punctuation: %j', (text) => {
    expect(boundsRealCount(text)).toBe(true)
  })

  it.each([
    ['ﷺ', 1000],
    ['Ｔｏｋｅｎ ｑｕｏｔａ ', 100],
    ['\ufeff', 500],
    ['Καλημέρα κόσμε ', 100],
    ['Привет, мир ', 100],
    ['👩‍👩‍👧‍👦', 100],
    ['e\u0301\u0302\u0303', 200],
    ['\ue000\udb80\udc00', 200],
  ])('bounds %j repeated %i times under each tokenizer', (unit, times) => {
    expect(boundsRealCount(unit.repeat(times))).toBe(true)
  })

  it.each(['arabic', 'cjk', 'emoji', 'hindi', 'korean', 'mixed', 'prose'])('stays within 1.5× of the model tokenizer on %s (every corpus sample)', (kind) => {
    for (const sample of corpus.filter((candidate) => candidate.kind === kind)) {
      const real = realTokens(sample.text)
      expect(estimateTokens(sample.text, { model: 'gpt-4o' }) / real.o200k).toBeLessThanOrEqual(1.5)
      expect(estimateTokens(sample.text, { model: 'gpt-4' }) / real.cl100k).toBeLessThanOrEqual(1.5)
      expect(estimateTokens(sample.text) / Math.max(real.o200k, real.cl100k)).toBeLessThanOrEqual(1.5)
    }
  })

  it("bounds the model's own tokenizer: o200k_base for GPT-4o, 4.1, 5 and o-series, cl100k_base for GPT-4 and 3.5, both otherwise", () => {
    for (const model of [
      'gpt-4o',
      'gpt-4o-mini',
      'chatgpt-4o-latest',
      'gpt-4.1-nano',
      'gpt-5',
      'o1',
      'o3-mini',
      'o4-mini',
      'ft:gpt-4o-mini:acme::x',
      'openai/gpt-5',
    ])
      expect(tokenizerOfModel(model)).toBe('o200k_base')
    for (const model of ['gpt-4', 'gpt-4-turbo', 'gpt-4-0613', 'gpt-3.5-turbo', 'text-embedding-3-small', 'text-embedding-ada-002'])
      expect(tokenizerOfModel(model)).toBe('cl100k_base')
    for (const model of [undefined, 'claude-sonnet-4-5', 'gemini-2.5-flash', 'my-azure-deployment', 'o', 'gpt-40'])
      expect(tokenizerOfModel(model)).toBeUndefined()
    const hindi = corpus.find((sample) => sample.kind === 'hindi')!.text
    expect(estimateTokens(hindi, { model: 'gpt-4o' })).toBeLessThan(estimateTokens(hindi, { model: 'gpt-4' }))
    expect(estimateTokens(hindi, { model: 'claude-sonnet-4-5' })).toBe(estimateTokens(hindi))
    expect(estimateTokens(hindi, { model: 'gpt-4', tokenizer: 'o200k_base' })).toBe(estimateTokens(hindi, { model: 'gpt-4o' }))
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
