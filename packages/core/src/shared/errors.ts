const marker = Symbol.for('tokenquota.error')

/** Every code a tokenquota error can carry, grouped by the class that throws it. */
export type TokenQuotaErrorCode = TokenQuotaExceededCode | QuotaConfigErrorCode | QuotaInputErrorCode | 'StoreUnavailable' | 'LeaseAlreadySettled'

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

export type TokenQuotaExceededCode = 'TokenQuotaExceeded' | 'RequestTooLarge' | 'UnknownQuotaClass'
const exceededCodes: readonly TokenQuotaExceededCode[] = ['TokenQuotaExceeded', 'RequestTooLarge', 'UnknownQuotaClass']

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
    this.violations = options.violations
  }

  /** Tokens still available in the refusing policy's window (never negative). */
  get remaining(): number {
    return Math.max(0, this.limit - this.used - this.reserved)
  }

  /**
   * HTTP headers that describe the refusal, in the names OpenAI and Azure use:
   * `Retry-After` (whole seconds, rounded up; absent when waiting cannot help),
   * `x-ratelimit-limit-tokens`, `x-ratelimit-remaining-tokens`, `x-ratelimit-reset-tokens`
   * (seconds until the window resets, e.g. `"42s"`).
   */
  toHeaders(now: number = Date.now()): Record<string, string> {
    const headers: Record<string, string> = {
      'x-ratelimit-limit-tokens': String(this.limit),
      'x-ratelimit-remaining-tokens': String(this.remaining),
      'x-ratelimit-reset-tokens': `${Math.max(0, Math.ceil((this.resetAt - now) / 1000))}s`,
    }
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
  if (code === 'RequestTooLarge') {
    return `Token quota "${violation.policy}"${who}: the request needs ${violation.requested} tokens, more than the limit of ${violation.limit}`
  }
  const retry = violation.retryAfterMs === null ? '' : `; retry in ${Math.ceil(violation.retryAfterMs / 1000)}s`
  return `Token quota "${violation.policy}" exceeded${who}: ${violation.used} used and ${violation.reserved} reserved of ${violation.limit}, ${violation.requested} requested${retry}`
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

export type QuotaInputErrorCode = 'UnresolvedIdentifier' | 'InvalidIdentifier' | 'InvalidContext' | 'PolicyFunctionFailed' | 'InvalidUsage' | 'InvalidEstimate'
const inputCodes: readonly QuotaInputErrorCode[] = [
  'UnresolvedIdentifier',
  'InvalidIdentifier',
  'InvalidContext',
  'PolicyFunctionFailed',
  'InvalidUsage',
  'InvalidEstimate',
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

/** `commit` or `release` on a lease that is already settled. Nothing was charged twice. */
export class LeaseSettledError extends TokenQuotaError {
  override readonly code = 'LeaseAlreadySettled' as const
  readonly leaseId: string
  readonly settledAs: 'committed' | 'released'

  constructor(options: { leaseId: string; settledAs: 'committed' | 'released'; attempted: 'commit' | 'release' }) {
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
