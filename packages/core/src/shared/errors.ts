import { resetsAt } from './never-resets.js'
import { bareAmount, describeShortfall, roundedAmount, showAmount, showWait } from './shortfall.js'

const marker = Symbol.for('tokenquota.error')

/** Every code a tokenquota error can carry, grouped by the class that throws it. */
export type TokenQuotaErrorCode =
  | TokenQuotaExceededCode
  | QuotaConfigErrorCode
  | QuotaInputErrorCode
  | 'StoreUnavailable'
  | 'LeaseAlreadySettled'
  | 'UnpricedModel'

/**
 * Base class of every error this library throws. `isInstance` works across two installed copies
 * of the package, where `instanceof` does not.
 */
export class TokenQuotaError extends Error {
  readonly code: TokenQuotaErrorCode

  constructor(options: { code: TokenQuotaErrorCode; message: string; cause?: unknown }) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TokenQuotaError'
    this.code = options.code
    Object.defineProperty(this, marker, { value: true })
  }

  static isInstance(error: unknown): error is TokenQuotaError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true
  }
}

function hasCode(error: unknown, codes: readonly string[]): boolean {
  return TokenQuotaError.isInstance(error) && codes.includes(error.code)
}

export type TokenQuotaExceededCode =
  | 'TokenQuotaExceeded'
  | 'RequestTooLarge'
  | 'UnknownQuotaClass'
  /** A credit balance (`type: 'balance'`), with the allowance that spills into it, cannot hold the request: a top-up helps, waiting does not. */
  | 'CreditsExhausted'
const exceededCodes: readonly TokenQuotaExceededCode[] = ['TokenQuotaExceeded', 'RequestTooLarge', 'UnknownQuotaClass', 'CreditsExhausted']

/** One policy that refused a request. */
export interface QuotaViolation {
  /** Name of the policy that refused. */
  readonly policy: string
  /** The identifier the policy counts for (`null` for a policy with one shared counter). */
  readonly identifier: string | null
  /** The class the limit came from, for class-based `allow`. */
  readonly class?: string
  /** The limit in the current window. */
  readonly limit: number
  /** Tokens committed in the current window. */
  readonly used: number
  /** Tokens held by unsettled reservations in the current window. */
  readonly reserved: number
  /** Tokens the refused request asked for, in this policy's unit. */
  readonly requested: number
  /** When the current window ends (epoch ms). */
  readonly resetAt: number
  /** How long until this request could fit; `null` when it never can (it is larger than the limit). */
  readonly retryAfterMs: number | null
  /** What `limit`, `used`, `reserved` and `requested` count: tokens (the default), requests, or US dollars. */
  readonly unit?: 'tokens' | 'requests' | 'usd'
}

/**
 * The request would exceed a token quota. HTTP status 429. Thrown before the provider is called:
 * a refused request consumes nothing.
 */
export class TokenQuotaExceededError extends TokenQuotaError implements QuotaViolation {
  override readonly code: TokenQuotaExceededCode
  readonly status = 429
  readonly policy: string
  readonly identifier: string | null
  readonly class?: string
  readonly limit: number
  readonly used: number
  readonly reserved: number
  readonly requested: number
  readonly resetAt: number
  readonly retryAfterMs: number | null
  readonly unit: 'tokens' | 'requests' | 'usd'
  /** Every policy that refused, the reported one (the one that frees up last) first. */
  readonly violations: readonly QuotaViolation[]

  constructor(options: { code: TokenQuotaExceededCode; violations: readonly QuotaViolation[]; message?: string }) {
    const [first] = options.violations
    if (!first) throw new TypeError('TokenQuotaExceededError needs at least one violation')
    super({ code: options.code, message: options.message ?? describeViolation(options.code, first) })
    this.name = 'TokenQuotaExceededError'
    this.code = options.code
    this.policy = first.policy
    this.identifier = first.identifier
    if (first.class !== undefined) this.class = first.class
    this.limit = first.limit
    this.used = first.used
    this.reserved = first.reserved
    this.requested = first.requested
    this.resetAt = first.resetAt
    this.retryAfterMs = first.retryAfterMs
    this.unit = first.unit ?? 'tokens'
    this.violations = options.violations
  }

  /** Still available in the refusing policy's window, in its unit (never negative). */
  get remaining(): number {
    return Math.max(0, roundedAmount(this.limit - this.used - this.reserved))
  }

  /**
   * The refusal in one line for people: `user-daily: needs ~273 tokens, 127 left of 700 (retry in 2 h)`.
   * What the request needs is its reservation (prompt estimate plus output cap), which can be more
   * than what is left while the window is not yet full.
   */
  explain(): string {
    if (this.code === 'UnknownQuotaClass') return `${this.policy}: no limit for class "${truncate(this.class ?? '')}"`
    if (this.code === 'CreditsExhausted') return `${this.policy}: ${describeCredits(this)} (a top-up helps, waiting does not)`
    const wait = this.retryAfterMs === null ? 'waiting will not help' : `retry in ${showWait(this.retryAfterMs)}`
    return `${this.policy}: ${describeShortfall(this, { counts: false })} (${wait})`
  }

  /**
   * HTTP headers that describe the refusal, in the names OpenAI and Azure use:
   * `Retry-After` (whole seconds, rounded up; absent when waiting cannot help),
   * `x-ratelimit-limit-tokens`, `x-ratelimit-remaining-tokens`, `x-ratelimit-reset-tokens`
   * (`-requests` or `-usd` instead of `-tokens` for a policy that counts requests or dollars)
   * (seconds until the window resets, e.g. `"42s"`; absent for a credit balance, which never
   * resets by itself: `CreditsExhausted` tells a top-up, not a time).
   */
  toHeaders(now: number = Date.now()): Record<string, string> {
    const unit = this.unit
    const headers: Record<string, string> = {
      [`x-ratelimit-limit-${unit}`]: String(this.limit),
      [`x-ratelimit-remaining-${unit}`]: String(this.remaining),
    }
    if (resetsAt(this.resetAt)) headers[`x-ratelimit-reset-${unit}`] = `${Math.max(0, Math.ceil((this.resetAt - now) / 1000))}s`
    if (this.retryAfterMs !== null) headers['retry-after'] = String(Math.max(1, Math.ceil(this.retryAfterMs / 1000)))
    return headers
  }

  static override isInstance(error: unknown): error is TokenQuotaExceededError {
    return hasCode(error, exceededCodes)
  }
}

function describeViolation(code: TokenQuotaExceededCode, violation: QuotaViolation): string {
  const who = violation.identifier === null ? '' : ` for identifier "${truncate(violation.identifier)}"`
  if (code === 'UnknownQuotaClass') {
    return `Token quota "${violation.policy}" has no limit for class "${truncate(violation.class ?? '')}"${who}; the request is refused`
  }
  if (code === 'RequestTooLarge') return `Token quota "${violation.policy}"${who}: ${describeShortfall(violation)}`
  if (code === 'CreditsExhausted') return `Credits "${violation.policy}" exhausted${who}: ${describeCredits(violation)}; top up to continue`
  const retry = violation.retryAfterMs === null ? '' : `; retry in ${Math.ceil(violation.retryAfterMs / 1000)}s`
  return `Token quota "${violation.policy}" exceeded${who}: ${describeShortfall(violation)}${retry}`
}

/** A balance's shortfall: `needs ~40 tokens, 30 left (balance 30, 0 reserved)`. */
function describeCredits(violation: QuotaViolation): string {
  const unit = violation.unit ?? 'tokens'
  const left = Math.max(0, roundedAmount(violation.limit - violation.reserved))
  const show = (amount: number) => bareAmount(amount, unit)
  return `needs ~${showAmount(violation.requested, unit)}, ${show(left)} left (balance ${show(violation.limit)}, ${show(violation.reserved)} reserved)`
}

function truncate(text: string): string {
  return text.length > 64 ? `${text.slice(0, 61)}...` : text
}

export type QuotaConfigErrorCode =
  | 'InvalidQuotaInterval'
  | 'InvalidQuotaTimeUnit'
  | 'InvalidQuotaType'
  | 'InvalidStartTime'
  | 'StartTimeNotSupported'
  | 'InvalidConfiguration'
const configCodes: readonly QuotaConfigErrorCode[] = [
  'InvalidQuotaInterval',
  'InvalidQuotaTimeUnit',
  'InvalidQuotaType',
  'InvalidStartTime',
  'StartTimeNotSupported',
  'InvalidConfiguration',
]

/** A policy or config file is invalid. Thrown at construction, never at request time. */
export class QuotaConfigError extends TokenQuotaError {
  override readonly code: QuotaConfigErrorCode
  /** The policy at fault, when one is. */
  readonly policy: string | undefined
  /** The field at fault, e.g. `interval` or `projects.production.daily_limit`. */
  readonly field: string | undefined

  constructor(options: { code: QuotaConfigErrorCode; message: string; policy?: string; field?: string; cause?: unknown }) {
    const where = [options.policy && `policy "${options.policy}"`, options.field && `field \`${options.field}\``].filter(Boolean).join(', ')
    super({ code: options.code, message: where ? `${where}: ${options.message}` : options.message, cause: options.cause })
    this.name = 'QuotaConfigError'
    this.code = options.code
    this.policy = options.policy
    this.field = options.field
  }

  static override isInstance(error: unknown): error is QuotaConfigError {
    return hasCode(error, configCodes)
  }
}

export type QuotaInputErrorCode =
  | 'UnresolvedIdentifier'
  | 'InvalidIdentifier'
  | 'InvalidContext'
  | 'PolicyFunctionFailed'
  | 'InvalidUsage'
  | 'InvalidEstimate'
  /** A request names both a model and a tool, or a tool that is not a name. */
  | 'InvalidResource'
  | 'InvalidAdminRequest'
  /** An admin change's idempotency key was already used, within 24 hours, for a different change. */
  | 'IdempotencyKeyReused'
  /** A negative credit correction is larger than the balance it would draw from (thrown as `InsufficientCreditsError`). */
  | 'InsufficientCredits'
  /** A lease's lifetime is not a positive number of ms up to 366 days, or its store record is not one line. */
  | 'InvalidLease'
  /** A billing-cycle anchor in the context is not a date (see `QuotaPolicy.anchor`). */
  | 'InvalidAnchor'
const inputCodes: readonly QuotaInputErrorCode[] = [
  'InvalidAdminRequest',
  'IdempotencyKeyReused',
  'InsufficientCredits',
  'UnresolvedIdentifier',
  'InvalidIdentifier',
  'InvalidContext',
  'PolicyFunctionFailed',
  'InvalidUsage',
  'InvalidEstimate',
  'InvalidLease',
  'InvalidResource',
  'InvalidAnchor',
]

/**
 * A request could not be evaluated: its identity is missing or malformed, a policy function threw,
 * or the usage/estimate is not a sane token count. HTTP status 400. Nothing was charged.
 */
export class QuotaInputError extends TokenQuotaError {
  override readonly code: QuotaInputErrorCode
  readonly status = 400
  readonly policy: string | undefined

  constructor(options: { code: QuotaInputErrorCode; message: string; policy?: string; cause?: unknown }) {
    super({ code: options.code, message: options.policy ? `policy "${options.policy}": ${options.message}` : options.message, cause: options.cause })
    this.name = 'QuotaInputError'
    this.code = options.code
    this.policy = options.policy
  }

  static override isInstance(error: unknown): error is QuotaInputError {
    return hasCode(error, inputCodes)
  }
}

/**
 * What an `InsufficientCreditsError` counts: a policy's unit, or `'counter'`, the whole units a
 * store's protocol speaks (1e-8 dollar on a dollar balance), only when a store's `writeCredits` is
 * called directly. `quota.admin` always answers in the policy's unit.
 */
export type CreditErrorUnit = 'tokens' | 'requests' | 'usd' | 'counter'

/**
 * A negative credit correction is larger than the balance it would draw from (code
 * `InsufficientCredits`). HTTP status 400. Nothing changed. `requested` and `balance` are in `unit`,
 * the balance policy's (dollars for a dollar balance), as the message says them.
 */
export class InsufficientCreditsError extends QuotaInputError {
  override readonly code = 'InsufficientCredits' as const
  /** What the correction would take: its amount without the sign, in `unit`. */
  readonly requested: number
  /** The balance it would draw from, in `unit`. */
  readonly balance: number
  readonly unit: CreditErrorUnit

  constructor(options: { requested: number; balance: number; unit: CreditErrorUnit; policy?: string; cause?: unknown }) {
    const show = (amount: number) => (options.unit === 'counter' ? `${amount} counter ${amount === 1 ? 'unit' : 'units'}` : showAmount(amount, options.unit))
    super({
      code: 'InsufficientCredits',
      message: `a correction of -${show(options.requested)} needs a balance of at least ${show(options.requested)}, the balance is ${show(options.balance)}: nothing changed`,
      policy: options.policy,
      cause: options.cause,
    })
    this.name = 'InsufficientCreditsError'
    this.requested = options.requested
    this.balance = options.balance
    this.unit = options.unit
  }

  static override isInstance(error: unknown): error is InsufficientCreditsError {
    return hasCode(error, ['InsufficientCredits'])
  }
}

/**
 * A policy counts US dollars and the call's model has no price in the engine's price tables (and the
 * policy names no `unpriced` rate). Thrown before the provider is called: an unpriced call is never
 * let through for free. HTTP status 400 — the request names a model this service cannot bill.
 */
export class UnpricedModelError extends TokenQuotaError {
  override readonly code = 'UnpricedModel' as const
  readonly status = 400
  readonly model: string | undefined
  /** The money policies that could not price it. */
  readonly policies: readonly string[]

  constructor(options: { model: string | undefined; policies: readonly string[]; tables: readonly string[] }) {
    const model = options.model === undefined ? 'a call that names no model' : `model "${truncate(options.model)}"`
    super({
      code: 'UnpricedModel',
      message: `${model[0]!.toUpperCase()}${model.slice(1)} has no price in ${options.tables.join(', ') || 'any price table'}, and ${options.policies.map((name) => `"${name}"`).join(', ')} count${options.policies.length === 1 ? 's' : ''} US dollars; price it with \`prices\` or the policy's \`unpriced\` rate`,
    })
    this.name = 'UnpricedModelError'
    this.model = options.model
    this.policies = options.policies
  }

  static override isInstance(error: unknown): error is UnpricedModelError {
    return hasCode(error, ['UnpricedModel'])
  }
}

/**
 * The counter store could not be reached or answered wrongly. HTTP status 503. Never reported as
 * a quota refusal.
 */
export class StoreUnavailableError extends TokenQuotaError {
  override readonly code = 'StoreUnavailable' as const
  readonly status = 503

  constructor(options: { message: string; cause?: unknown }) {
    super({ code: 'StoreUnavailable', message: options.message, cause: options.cause })
    this.name = 'StoreUnavailableError'
  }

  static override isInstance(error: unknown): error is StoreUnavailableError {
    return hasCode(error, ['StoreUnavailable'])
  }
}

/** `commit`, `release` or `extend` on a lease that is already settled. Nothing was charged twice. */
export class LeaseSettledError extends TokenQuotaError {
  override readonly code = 'LeaseAlreadySettled' as const
  readonly leaseId: string
  readonly settledAs: 'committed' | 'released'

  constructor(options: { leaseId: string; settledAs: 'committed' | 'released'; attempted: 'commit' | 'release' | 'extend' }) {
    super({
      code: 'LeaseAlreadySettled',
      message: `Cannot ${options.attempted} lease ${options.leaseId}: it was already ${options.settledAs}`,
    })
    this.name = 'LeaseSettledError'
    this.leaseId = options.leaseId
    this.settledAs = options.settledAs
  }

  static override isInstance(error: unknown): error is LeaseSettledError {
    return hasCode(error, ['LeaseAlreadySettled'])
  }
}
