/** What a refused request asked for against what its policy had left, in the policy's unit. */
export interface Shortfall {
  readonly requested: number
  readonly limit: number
  readonly used: number
  readonly reserved: number
  readonly unit?: 'tokens' | 'requests' | 'usd' | undefined
}

/** Dollar amounts are counter units (1e-8 dollar) divided out: keep them free of floating-point dust. */
export function roundedAmount(value: number): number {
  return Math.round(value * 1e8) / 1e8
}

/** Dollars as decimal text to the counter's 8 places, without trailing zeros: `$0.15`, `$0.00000002` (never `$2e-8`). */
function dollars(value: number): string {
  const rounded = roundedAmount(value)
  return `${rounded < 0 ? '-' : ''}$${Math.abs(rounded)
    .toFixed(8)
    .replace(/\.?0+$/, '')}`
}

/** `273 tokens`, `1 token`, `1 request`, `$0.0123`. */
export function showAmount(value: number, unit: Shortfall['unit'] = 'tokens'): string {
  if (unit === 'usd') return dollars(value)
  if (unit === 'requests') return `${value} ${value === 1 ? 'request' : 'requests'}`
  return `${value} ${value === 1 ? 'token' : 'tokens'}`
}

/** An amount without its unit's name: `273`, `$0.0123`. */
export function bareAmount(value: number, unit: Shortfall['unit']): string {
  return unit === 'usd' ? dollars(value) : String(value)
}

/**
 * Why a request did not fit, for people: `needs ~273 tokens, 127 left of 700 (573 used, 0 reserved)`.
 * The request's need is its reservation (prompt estimate plus output cap), hence `~`, except for
 * a policy that counts requests; a request over the whole limit says so instead. `counts: false`
 * leaves out the parenthesis.
 */
export function describeShortfall(shortfall: Shortfall, options: { counts?: boolean } = {}): string {
  const unit = shortfall.unit ?? 'tokens'
  const needs = `needs ${unit === 'requests' ? '' : '~'}${showAmount(shortfall.requested, unit)}`
  if (shortfall.requested > shortfall.limit) return `${needs}, more than the whole limit of ${bareAmount(shortfall.limit, unit)}`
  const left = Math.max(0, roundedAmount(shortfall.limit - shortfall.used - shortfall.reserved))
  const counts = options.counts === false ? '' : ` (${bareAmount(shortfall.used, unit)} used, ${bareAmount(shortfall.reserved, unit)} reserved)`
  return `${needs}, ${bareAmount(left, unit)} left of ${bareAmount(shortfall.limit, unit)}${counts}`
}

/** A wait for people, rounded up: `45 s`, `12 min`, `5 h`, `3 days`. */
export function showWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000))
  if (seconds < 90) return `${seconds} s`
  if (seconds < 90 * 60) return `${Math.ceil(seconds / 60)} min`
  if (seconds < 48 * 3600) return `${Math.ceil(seconds / 3600)} h`
  return `${Math.ceil(seconds / 86_400)} days`
}
