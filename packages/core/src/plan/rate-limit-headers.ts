import { resetsAt } from '../shared/never-resets.js'
import type { PolicyDecision } from './decision.js'

/** Options of {@link rateLimitHeaders}. */
export interface RateLimitHeaderOptions {
  /** The time resets are counted from (the quota's clock: `quota.now()`). @default Date.now() */
  readonly now?: number
  /**
   * Which fields: `x-ratelimit` (the `x-ratelimit-*` names OpenAI uses), `ietf` (`RateLimit` and
   * `RateLimit-Policy`, draft-ietf-httpapi-ratelimit-headers), or `both`. @default 'both'
   */
  readonly format?: 'x-ratelimit' | 'ietf' | 'both'
}

type Unit = PolicyDecision['unit']

/**
 * Response headers that tell a caller where they stand, from `quota.status(context)`: for the
 * success path (a refusal has `TokenQuotaExceededError.toHeaders()`). Policies that only count
 * (`mode: 'count-only'`) are left out.
 *
 * - `x-ratelimit-limit-<unit>`, `x-ratelimit-remaining-<unit>`, `x-ratelimit-reset-<unit>`
 *   (seconds, e.g. `"42s"`): one family per unit — `tokens`, `requests`, and `usd` for money
 *   policies (in dollars) — each from the tightest policy of that unit (the least available).
 *   Amounts of different units are never compared.
 * - `RateLimit-Policy` (`"name";q=<allowed>;w=<window seconds>;qu="tokens"`) and `RateLimit`
 *   (`"name";r=<remaining>;t=<seconds to reset>`): one item per token or request policy. The
 *   draft's quotas are integers, so money policies appear in the `x-ratelimit-*-usd` family only;
 *   a credit balance (`type: 'balance'`) never resets by itself, so it has no `w`, `t`, nor reset header;
 *   `qu="tokens"` is a unit beyond the draft's registered `requests`.
 *
 * @example
 * for (const [name, value] of Object.entries(rateLimitHeaders(await quota.status(caller), { now: quota.now() })))
 *   response.headers.set(name, value)
 */
export function rateLimitHeaders(status: readonly PolicyDecision[], options: RateLimitHeaderOptions = {}): Record<string, string> {
  const now = options.now ?? Date.now()
  const format = options.format ?? 'both'
  const enforced = status.filter((decision) => decision.mode !== 'count-only')
  return {
    ...(format === 'ietf' ? {} : xRateLimitHeaders(enforced, now)),
    ...(format === 'x-ratelimit' ? {} : ietfHeaders(enforced, now)),
  }
}

function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000))
}

function xRateLimitHeaders(decisions: readonly PolicyDecision[], now: number): Record<string, string> {
  const tightest = new Map<Unit, PolicyDecision>()
  for (const decision of decisions) {
    const current = tightest.get(decision.unit)
    const tighter =
      current === undefined || decision.available < current.available || (decision.available === current.available && decision.resetAt > current.resetAt)
    if (tighter) tightest.set(decision.unit, decision)
  }
  const headers: Record<string, string> = {}
  for (const [unit, decision] of tightest) {
    headers[`x-ratelimit-limit-${unit}`] = String(decision.allowed)
    headers[`x-ratelimit-remaining-${unit}`] = String(decision.available)
    if (resetsAt(decision.resetAt)) headers[`x-ratelimit-reset-${unit}`] = `${secondsUntil(decision.resetAt, now)}s`
  }
  return headers
}

function ietfHeaders(decisions: readonly PolicyDecision[], now: number): Record<string, string> {
  const counted = decisions.filter((decision) => decision.unit !== 'usd')
  if (counted.length === 0) return {}
  const policies = counted.map((decision) => {
    // A balance has no window (`w` and `t` are optional in the draft); it never resets by itself.
    if (!resetsAt(decision.resetAt)) return `${sfString(decision.name)};q=${Math.floor(decision.allowed)};qu="${decision.unit}"`
    // A rolling window's start is `now - length`; the others run from their start to their reset.
    const window = Math.ceil(((decision.type === 'rollingwindow' ? now : decision.resetAt) - decision.windowStart) / 1000)
    return `${sfString(decision.name)};q=${Math.floor(decision.allowed)};w=${Math.max(1, window)};qu="${decision.unit}"`
  })
  const limits = counted.map((decision) => {
    const reset = resetsAt(decision.resetAt) ? `;t=${secondsUntil(decision.resetAt, now)}` : ''
    return `${sfString(decision.name)};r=${Math.floor(decision.available)}${reset}`
  })
  return { 'ratelimit-policy': policies.join(', '), ratelimit: limits.join(', ') }
}

/** A structured-field String (RFC 9651): printable ASCII, `"` and `\` escaped; anything else becomes `?`. */
function sfString(text: string): string {
  return `"${text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, (char) => `\\${char}`)}"`
}
