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
function fillCostTable(): void {
  const lengths = characterCostLengths.split(',')
  let index = 0x80
  for (let run = 0; run < characterCostValues.length; run += 1) {
    const length = Number.parseInt(lengths[run]!, 36)
    const value = characterCostValues.charCodeAt(run) - 48
    costTable.fill((value & 3) | (((value >> 2) & 1) << 3) | (((value >> 3) & 3) << 4) | (((value >> 5) & 1) << 7), index, index + length)
    index += length
  }
}

/** Open-addressing set of joined pairs (`first << 16 | second`, a signed 32-bit integer), with a bit per encoding. */
const slots = 1 << 16
const pairKeys = new Int32Array(slots)
const pairFlags = new Uint8Array(slots)
const JOINED_O200K = 1
const JOINED_CL100K = 2
function addPairs(base64: string, flag: number): void {
  const binary = atob(base64)
  for (let i = 0; i + 3 < binary.length; i += 4) {
    const first = binary.charCodeAt(i) | (binary.charCodeAt(i + 1) << 8)
    const second = binary.charCodeAt(i + 2) | (binary.charCodeAt(i + 3) << 8)
    const key = (first << 16) | second
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
  const key = (first << 16) | second
  let slot = slotOf(key)
  while (pairFlags[slot] !== 0) {
    if (pairKeys[slot] === key) return pairFlags[slot]!
    slot = (slot + 1) & (slots - 1)
  }
  return 0
}
/** The tables are built on the first non-ASCII text (a few milliseconds), not on import. */
let built = false
function build(): void {
  fillCostTable()
  addPairs(joinedPairsO200k, JOINED_O200K)
  addPairs(joinedPairsCl100k, JOINED_CL100K)
  built = true
}

/** Outside the table (rare astral characters): four tokens, one per byte, and a space of its own. */
const astralValue = 4 | (1 << 3) | (4 << 4) | (1 << 7)

/** Tokens of the run the last `scanNonAscii` read, in o200k_base and in cl100k_base. */
export const nonAsciiTokens = { o200k: 0, cl100k: 0 }

/**
 * Whether a run is long and made of at most three letters in any order (μωωμω…, 키탂키탂…): such
 * runs merge far less than the chain rule assumes, and worse, the same merge across two characters
 * repeats with the pattern and splits each character more than it splits alone (cl100k_base counts
 * 55 tokens for 키탂 × 11, whose characters cost 44 alone). They are charged their bytes, which no
 * tokenizer exceeds.
 */
class SmallAlphabet {
  #letters = [-1, -1, -1]
  #count = 0
  #many = false

  clear(): void {
    this.#letters.fill(-1)
    this.#count = 0
    this.#many = false
  }

  add(codePoint: number): void {
    this.#count += 1
    if (this.#many || this.#letters.includes(codePoint)) return
    const free = this.#letters.indexOf(-1)
    if (free === -1) this.#many = true
    else this.#letters[free] = codePoint
  }

  /** Words of three letters or fewer (الله, ωω) are words; from 6 characters on, a run of ≤ 3 letters is not. */
  isSmall(): boolean {
    return !this.#many && this.#count >= 6
  }
}
const smallAlphabet = new SmallAlphabet()

/** Byte length of the code point the last `decodeAt` read. */
const decoded = { length: 0 }

/** The code point whose UTF-8 starts at `i` (U+FFFD for a cut sequence); its length goes to `decoded.length`. */
function decodeAt(bytes: Uint8Array, i: number, length: number): number {
  const lead = bytes[i]!
  if (lead >= 0xf0 && i + 3 < length) {
    decoded.length = 4
    return ((lead & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f)
  }
  if (lead >= 0xe0 && i + 2 < length) {
    decoded.length = 3
    return ((lead & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f)
  }
  if (lead >= 0xc0 && i + 1 < length) {
    decoded.length = 2
    return ((lead & 0x1f) << 6) | (bytes[i + 1]! & 0x3f)
  }
  decoded.length = 1
  return 0xfffd
}

/** Tokens of a chain of `length` joined characters: two per five, one for a single character. */
function chainTokens(length: number): number {
  return length <= 1 ? length : Math.ceil((length * 2) / 5)
}

/**
 * Reads the non-ASCII characters from `start` (UTF-8), leaves their cost in `nonAsciiTokens` and
 * returns where they end. `afterSpace`: a lone space before them was taken into this piece.
 * Per encoding: `tokens` so far, the open `chain` of joined 1-token characters, and the `loose`
 * characters outside any chain of two or more, which pay a quarter token more.
 */
export function scanNonAscii(bytes: Uint8Array, start: number, length: number, afterSpace: boolean): number {
  if (!built) build()
  let tokensO = 0
  let chainO = 0
  let looseO = 0
  let tokensC = 0
  let chainC = 0
  let looseC = 0
  let i = start
  let previous = -1
  let second = -1
  let third = -1
  smallAlphabet.clear()
  while (i < length) {
    const lead = bytes[i]!
    if (lead < 0x80) break
    const codePoint = decodeAt(bytes, i, length)
    i += decoded.length
    const value =
      codePoint < 0x10000 ? costTable[codePoint]! : codePoint >= emojiFrom && codePoint < emojiTo ? costTable[codePoint - emojiFrom + 0x10000]! : astralValue
    const costO = value & 7
    const costC = (value >> 4) & 7
    smallAlphabet.add(codePoint)
    if (previous === -1 && afterSpace) {
      tokensO += (value >> 3) & 1
      tokensC += value >> 7
    }
    // A character repeated, or a pair repeated (abab), splits where a word would not.
    let flags = 0
    if ((chainO > 0 && costO === 1) || (chainC > 0 && costC === 1))
      if (codePoint !== previous && (codePoint !== second || previous !== third)) flags = joined(previous, codePoint)
    if ((flags & JOINED_O200K) !== 0) chainO += 1
    else {
      if (chainO === 1) looseO += 1
      tokensO += chainTokens(chainO)
      chainO = costO === 1 ? 1 : 0
      if (costO !== 1) {
        tokensO += costO
        looseO += 1
      }
    }
    if ((flags & JOINED_CL100K) !== 0) chainC += 1
    else {
      if (chainC === 1) looseC += 1
      tokensC += chainTokens(chainC)
      chainC = costC === 1 ? 1 : 0
      if (costC !== 1) {
        tokensC += costC
        looseC += 1
      }
    }
    third = second
    second = previous
    previous = codePoint
  }
  if (chainO === 1) looseO += 1
  if (chainC === 1) looseC += 1
  nonAsciiTokens.o200k = tokensO + chainTokens(chainO) + Math.ceil(looseO / 4)
  nonAsciiTokens.cl100k = tokensC + chainTokens(chainC) + Math.ceil(looseC / 4)
  if (smallAlphabet.isSmall()) {
    // The space taken into the run is one more byte.
    nonAsciiTokens.o200k = nonAsciiTokens.cl100k = i - start + (afterSpace ? 1 : 0)
  }
  return i
}
