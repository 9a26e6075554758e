// How a policy's fields are checked and reported: the vocabulary every policy validator shares.
import { QuotaConfigError, type QuotaConfigErrorCode } from '../shared/errors.js'
import { showValue } from '../shared/show-value.js'

/** Largest limit or cap accepted: beyond this, integer token arithmetic loses precision. */
export const maxTokenCount = Math.floor(Number.MAX_SAFE_INTEGER / 1024)

/** Letters, digits, `.`, `_`, `:`, `-`: policy and counter names. */
export const namePattern = /^[A-Za-z0-9._:-]{1,128}$/

function describe(value: unknown): string {
  if (typeof value === 'function') return '[function] (function)'
  let shown = typeof value === 'string' ? value : showValue(value)
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`
  return `\`${shown}\` (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`
}

/** Throws the `QuotaConfigError` that says what `field` expected and what came. */
export function fail(code: QuotaConfigErrorCode, policy: string | undefined, field: string, expected: string, value: unknown): never {
  throw new QuotaConfigError({ code, policy, field, message: `Expected \`${field}\` to be ${expected}, got ${describe(value)}` })
}

/** A plain object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** A non-negative integer up to {@link maxTokenCount}. */
export function isTokenCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= maxTokenCount
}
