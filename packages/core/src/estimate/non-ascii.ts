import { characterCostLengths, characterCostValues, joinedPairsCl100k, joinedPairsO200k } from './estimate-char-tables.js'

/**
 * Costs of non-ASCII text in both OpenAI vocabularies. Every character costs what it costs alone
 * (or a third of three in a row, if more); a chain of characters that the vocabulary joins
 * inside its tokens (words of Hindi, Arabic, Korean…) costs two tokens per five; a quarter more
 * for the characters outside such chains covers merges across characters that split them.
 */

/** Where the emoji blocks (U+1F000–U+1FBFF) start in the cost table, after the BMP. */
const emojiFrom = 0x1f000
const emojiTo = 0x1fc00
/** Per code point: o200k cost (bits 0–2) | o200k spaced (bit 3) | cl100k cost (bits 4–6) | cl100k spaced (bit 7). */
const costTable = new Uint8Array(0x10000 + (emojiTo - emojiFrom))
{
  const lengths = characterCostLengths.split(',')
  let index = 0x80
  for (let run = 0; run < characterCostValues.length; run += 1) {
    const length = Number.parseInt(lengths[run]!, 36)
    const value = characterCostValues.charCodeAt(run) - 48
    costTable.fill((value & 3) | (((value >> 2) & 1) << 3) | (((value >> 3) & 3) << 4) | (((value >> 5) & 1) << 7), index, index + length)
    index += length
  }
}

/** Open-addressing set of joined pairs (`first << 16 | second`, as unsigned), with a bit per encoding. */
const slots = 1 << 16
const pairKeys = new Uint32Array(slots)
const pairFlags = new Uint8Array(slots)
const JOINED_O200K = 1
const JOINED_CL100K = 2
function addPairs(base64: string, flag: number): void {
  const binary = atob(base64)
  for (let i = 0; i + 3 < binary.length; i += 4) {
    const first = binary.charCodeAt(i) | (binary.charCodeAt(i + 1) << 8)
    const second = binary.charCodeAt(i + 2) | (binary.charCodeAt(i + 3) << 8)
    const key = ((first << 16) | second) >>> 0
    let slot = slotOf(key)
    while (pairFlags[slot] !== 0 && pairKeys[slot] !== key) slot = (slot + 1) & (slots - 1)
    pairKeys[slot] = key
    pairFlags[slot]! |= flag
  }
}
function slotOf(key: number): number {
  return Math.imul(key, 0x9e3779b1) >>> 16
}
function joined(first: number, second: number): number {
  if (first >= 0x10000 || second >= 0x10000) return 0
  const key = ((first << 16) | second) >>> 0
  let slot = slotOf(key)
  while (pairFlags[slot] !== 0) {
    if (pairKeys[slot] === key) return pairFlags[slot]!
    slot = (slot + 1) & (slots - 1)
  }
  return 0
}
addPairs(joinedPairsO200k, JOINED_O200K)
addPairs(joinedPairsCl100k, JOINED_CL100K)

/** Outside the table (rare astral characters): four tokens, one per byte, and a space of its own. */
const astralValue = 4 | (1 << 3) | (4 << 4) | (1 << 7)

function costsOf(codePoint: number): number {
  if (codePoint < 0x10000) return costTable[codePoint]!
  return codePoint >= emojiFrom && codePoint < emojiTo ? costTable[codePoint - emojiFrom + 0x10000]! : astralValue
}

/** Tokens of the run the last `scanNonAscii` read, in o200k_base and in cl100k_base. */
export const nonAsciiTokens = { o200k: 0, cl100k: 0 }

/** One encoding's running count over a run: tokens so far, the open chain and the loose characters. */
class RunCount {
  tokens = 0
  chain = 0
  loose = 0
  start(): void {
    this.tokens = 0
    this.chain = 0
    this.loose = 0
  }
  /** Adds a character of `cost` tokens, in the open chain when `joins`. */
  add(cost: number, joins: boolean): void {
    if (joins && this.chain > 0) {
      this.chain += 1
      return
    }
    this.close()
    if (cost === 1) this.chain = 1
    else {
      this.tokens += cost
      this.loose += 1
    }
  }
  close(): void {
    if (this.chain === 1) {
      this.tokens += 1
      this.loose += 1
    } else if (this.chain > 1) this.tokens += Math.ceil((this.chain * 2) / 5)
    this.chain = 0
  }
  finish(): number {
    this.close()
    return this.tokens + Math.ceil(this.loose / 4)
  }
}
const o200k = new RunCount()
const cl100k = new RunCount()

/**
 * Reads the non-ASCII characters from `start` (UTF-8), leaves their cost in `nonAsciiTokens` and
 * returns where they end. `afterSpace`: a lone space before them was taken into this piece.
 */
export function scanNonAscii(bytes: Uint8Array, start: number, length: number, afterSpace: boolean): number {
  o200k.start()
  cl100k.start()
  let i = start
  let previous = 0
  let second = 0
  let third = 0
  let first = true
  while (i < length) {
    const lead = bytes[i]!
    if (lead < 0x80) break
    let codePoint: number
    if (lead >= 0xf0 && i + 3 < length) {
      codePoint = ((lead & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f)
      i += 4
    } else if (lead >= 0xe0 && i + 2 < length) {
      codePoint = ((lead & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f)
      i += 3
    } else if (lead >= 0xc0 && i + 1 < length) {
      codePoint = ((lead & 0x1f) << 6) | (bytes[i + 1]! & 0x3f)
      i += 2
    } else {
      codePoint = 0xfffd
      i += 1
    }
    const value = costsOf(codePoint)
    if (first && afterSpace) {
      o200k.tokens += (value >> 3) & 1
      cl100k.tokens += value >> 7
    }
    // A character repeated, or a pair repeated (abab), splits where a word would not.
    const repeats = codePoint === previous || (codePoint === second && previous === third)
    const flags = first || repeats ? 0 : joined(previous, codePoint)
    o200k.add(value & 7, (flags & JOINED_O200K) !== 0)
    cl100k.add((value >> 4) & 7, (flags & JOINED_CL100K) !== 0)
    third = second
    second = previous
    previous = codePoint
    first = false
  }
  nonAsciiTokens.o200k = o200k.finish()
  nonAsciiTokens.cl100k = cl100k.finish()
  return i
}
