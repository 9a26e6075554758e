import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveTarget } from './identifier.js'
import { normalizePolicies } from './policy-set.js'

const [policy] = normalizePolicies([{ name: 'user-daily', identifier: 'user', allow: 1000, interval: 1, timeUnit: 'day' }], { unidentified: 'refuse' })

async function keyOf(user: string): Promise<string> {
  return (await resolveTarget(policy!, { user }, 0)).identifierKey
}

/** The digest stored keys have used since 0.1 (Node's SHA-256 of the UTF-16LE code units): keys must not move between versions. */
function nodeDigest(value: string): string {
  return `#${createHash('sha256').update(Buffer.from(value, 'utf16le')).digest('base64url')}`
}

// Any code point, lone surrogates included (as `unit: 'binary'`, whose first use builds a reverse
// map of all 1.1 million code points: seconds of a worker's CPU for nothing this test needs).
const anyCodePoint = fc.integer({ min: 0, max: 0x10ffff }).map((codePoint) => String.fromCodePoint(codePoint))
/**
 * Longer than 200 UTF-16 code units, up to the 256 of `maxIdentifierLength`: from 101 code points
 * (astral ones are two units each), right at the literal limit (201 units, a surrogate pair across
 * it), and cut at the cap (a cut may leave a lone surrogate, which must digest apart too).
 */
const longIdentifier = fc.oneof(
  fc
    .string({ unit: anyCodePoint, minLength: 101, maxLength: 256 })
    .map((user) => user.slice(0, 256))
    .filter((user) => user.length > 200),
  fc.tuple(fc.constantFrom('x', '\uD800', '😀'), fc.constantFrom('x', '\uDC00', '😀')).map(([head, tail]) => `${'a'.repeat(199)}${head}${tail}`),
  fc.tuple(anyCodePoint, fc.integer({ min: 201, max: 256 })).map(([unit, times]) => unit.repeat(times).slice(0, 256)),
)

describe('identifier keys', () => {
  it('keeps identifiers up to 200 characters literal', async () => {
    expect(await keyOf('alice')).toBe('=alice')
    expect(await keyOf('a'.repeat(200))).toBe(`=${'a'.repeat(200)}`)
    // 100 astral characters are 200 UTF-16 units: still literal.
    expect(await keyOf('😀'.repeat(100))).toBe(`=${'😀'.repeat(100)}`)
  })

  it('stores a longer identifier as the same digest Node computes, lone surrogates included', async () => {
    await fc.assert(
      fc.asyncProperty(longIdentifier, async (user) => {
        expect(await keyOf(user)).toBe(nodeDigest(user))
      }),
      { numRuns: 200 },
    )
    const surrogates = `${'x'.repeat(250)}\uD800`
    expect(await keyOf(surrogates)).toBe(nodeDigest(surrogates))
    expect(await keyOf(surrogates)).not.toBe(await keyOf(`${'x'.repeat(250)}\uDC00`))
  })
})
