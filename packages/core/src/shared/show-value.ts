const nonFinite = '\u0000tokenquota-non-finite:'

/**
 * A value as JSON for an error message, except that NaN and ±Infinity show as themselves
 * (`JSON.stringify` would show them as `null`, the opposite of what the reader needs to see).
 */
export function showValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'symbol' || value === undefined) return String(value)
  if (typeof value === 'function') return '[function]'
  try {
    const json = JSON.stringify(value, (_key, inner: unknown) =>
      typeof inner === 'number' && !Number.isFinite(inner) ? `${nonFinite}${inner}` : typeof inner === 'bigint' ? `${nonFinite}${inner}` : inner,
    )
    return json === undefined ? String(value) : json.replace(/"\\u0000tokenquota-non-finite:([^"]*)"/g, '$1')
  } catch {
    return String(value)
  }
}
