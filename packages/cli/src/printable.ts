// C0 and C1 controls, DEL, and the bidirectional overrides and isolates that reorder what a terminal shows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const unprintable = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu

/**
 * Text from the store or a flag (identifiers, model names, plans), safe for a terminal: control
 * characters become visible escapes (`\x1b`, `\n`), so escape sequences never reach the
 * operator's terminal and a newline never breaks a table row.
 */
export function printable(text: string): string {
  return text.replace(unprintable, (char) => {
    if (char === '\n') return '\\n'
    if (char === '\r') return '\\r'
    if (char === '\t') return '\\t'
    const code = char.codePointAt(0)!
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}
