/** Estimates the prompt tokens of a text. May be asynchronous (an exact tokenizer loaded lazily). */
export type TokenEstimator = (text: string) => number | Promise<number>

/**
 * A fast, deliberately generous token estimate: one token per 4 ASCII characters (BPE tokenizers
 * average 4–4.5 on English and code) and one per other character (CJK, emoji, accented text
 * tokenize far denser). Characters are told apart by their UTF-8 length, counted natively, so a
 * 100k-token prompt takes well under a millisecond; 3-byte characters count as two non-ASCII
 * units, which only ever over-estimates, so reservations hold enough.
 */
export function estimateTokens(text: string): number {
  const units = text.length
  const nonAscii = Math.min(units, Buffer.byteLength(text, 'utf8') - units)
  return Math.ceil((units - nonAscii) / 4) + nonAscii
}
