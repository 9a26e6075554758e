import { sha256 } from '@noble/hashes/sha2.js'
import { QuotaInputError, TokenQuotaExceededError } from '../shared/errors.js'
import { anchorDayOf } from './anchor.js'
import { checkIdentifierLength } from './identifier-length.js'
import { scaledLimit } from './limit-config.js'
import { isClassAllow, type NormalizedPolicy } from './normalized-policy.js'
import type { QuotaContext } from '../shared/types.js'
import type { WindowSpec } from '../store/counter-ref.js'

/** Identifiers longer than this are stored as a SHA-256 digest, so a hostile value cannot bloat keys. */
const maxLiteralIdentifierLength = 200

/** Which counter of a policy a request charges, and its limit there. */
export interface PolicyTarget {
  readonly policy: NormalizedPolicy
  /** Counter family: the counter name, plus `#class` for class-based limits (each class has its own counter). */
  readonly counter: string
  /** Store key of the identifier. Prefixes keep the namespaces apart: `=` literal, `#` digest, `*` bucket, empty for a shared counter. */
  readonly identifierKey: string
  /** The identifier as the caller knows it (`null` for a shared counter). */
  readonly identifier: string | null
  readonly class: string | undefined
  /** The limit, or `undefined` when this policy never refuses. */
  readonly limit: number | undefined
  /** An anchored policy: the identifier's anchor day (`undefined`: none, so calendar windows). */
  readonly anchorDay: number | undefined
}

/** Where a target's counter lives at `at`: its policy's window, or its own billing cycle. */
export function targetWindow(target: Pick<PolicyTarget, 'policy' | 'anchorDay'>, at: number): WindowSpec {
  return target.policy.window(at, target.anchorDay)
}

/** Runs a user function of a policy; what it throws becomes a `QuotaInputError` naming the policy. */
export function callPolicyFunction<T>(policy: NormalizedPolicy, what: string, run: () => T): T {
  try {
    return run()
  } catch (error) {
    throw new QuotaInputError({ code: 'PolicyFunctionFailed', policy: policy.name, message: `the ${what} function threw: ${String(error)}`, cause: error })
  }
}

/** SHA-256 of a string's UTF-16 code units (not UTF-8: lone surrogates must not collapse into U+FFFD and collide). */
function digest(value: string): string {
  const units = new Uint8Array(value.length * 2)
  for (let index = 0; index < value.length; index += 1) {
    const unit = value.charCodeAt(index)
    units[index * 2] = unit & 0xff
    units[index * 2 + 1] = unit >> 8
  }
  return base64url(sha256(units))
}

const base64urlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** Base64url without padding (as Node's `digest('base64url')`); no `Buffer` on edge runtimes. */
function base64url(bytes: Uint8Array): string {
  let text = ''
  for (let index = 0; index < bytes.length; index += 3) {
    const chunk = (bytes[index]! << 16) | ((bytes[index + 1] ?? 0) << 8) | (bytes[index + 2] ?? 0)
    const chars = Math.min(4, Math.ceil(((bytes.length - index) * 8) / 6))
    for (let char = 0; char < chars; char += 1) text += base64urlAlphabet[(chunk >> (18 - char * 6)) & 63]
  }
  return text
}

function identifierKeyOf(value: string): string {
  return value.length <= maxLiteralIdentifierLength ? `=${value}` : `#${digest(value)}`
}

const sharedCounter = { key: '', identifier: null }

export function resolveIdentifier(policy: NormalizedPolicy, context: QuotaContext): { key: string; identifier: string | null } {
  const source = policy.identifier
  if (source === undefined) return sharedCounter
  const value = typeof source === 'string' ? context[source] : callPolicyFunction(policy, 'identifier', () => source(context))
  if (value === undefined || value === null || value === '') {
    if (policy.unidentified === 'refuse') {
      const from = typeof source === 'string' ? `context key \`${source}\`` : 'the identifier function'
      throw new QuotaInputError({
        code: 'UnresolvedIdentifier',
        policy: policy.name,
        message: `no identifier for this request (${from} is empty); set it with quota.withContext(), or declare an \`unidentified: { bucket }\` to charge`,
      })
    }
    return { key: `*${policy.unidentified.bucket}`, identifier: policy.unidentified.bucket }
  }
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') {
    const text = String(value)
    checkIdentifierLength(text, typeof source === 'string' ? `the identifier (context key \`${source}\`)` : 'the identifier', 'InvalidIdentifier', policy.name)
    return { key: identifierKeyOf(text), identifier: text }
  }
  throw new QuotaInputError({
    code: 'InvalidIdentifier',
    policy: policy.name,
    message: `expected the identifier to be a string or a finite number, got ${typeof value}`,
  })
}

function checkLimit(policy: NormalizedPolicy, value: unknown): number {
  const limit = scaledLimit(value, policy.scale)
  if (limit !== undefined) return limit
  const expected = policy.unit === 'usd' ? 'a non-negative number of US dollars' : 'a non-negative integer'
  throw new QuotaInputError({
    code: 'PolicyFunctionFailed',
    policy: policy.name,
    message: `expected the allow function to return ${expected}, got ${String(value)} (${typeof value})`,
  })
}

/** Counter family of one class: class names from a context may be hostile, so long or odd ones are digested. */
export function classCounter(counterName: string, className: string): string {
  const safe = className.length <= maxLiteralIdentifierLength && !className.includes('\u0000')
  return safe ? `${counterName}#=${className}` : `${counterName}##${digest(className)}`
}

function targetOf(
  policy: NormalizedPolicy,
  identity: { key: string; identifier: string | null },
  anchorDay: number | undefined,
  limit: number | undefined,
  className: string | undefined,
): PolicyTarget {
  const ownCounter = className !== undefined && !(isClassAllow(policy.allow) && policy.allow.shareCounter)
  return {
    policy,
    counter: ownCounter ? classCounter(policy.counterName, className) : policy.counterName,
    identifierKey: identity.key,
    identifier: identity.identifier,
    class: className,
    limit: policy.enforces ? limit : undefined,
    anchorDay,
  }
}

/**
 * Resolves a policy for one request: identifier, class and limit. Synchronous unless the `allow`
 * function is. Throws `QuotaInputError` for a missing or malformed identity or a failing policy
 * function, and `TokenQuotaExceededError` (`UnknownQuotaClass`) for a class with no limit on an
 * enforcing policy. `storedAnchorDay`: the caller's anchor kept in the store, for a context without one.
 */
export function resolveTarget(policy: NormalizedPolicy, context: QuotaContext, now: number, storedAnchorDay?: number): PolicyTarget | Promise<PolicyTarget> {
  const identity = resolveIdentifier(policy, context)
  const { identifier } = identity
  const anchorDay = policy.anchor === undefined ? undefined : (anchorDayOf(policy.name, policy.anchor, context, policy.timeZone) ?? storedAnchorDay)
  const target = (limit: number | undefined, className?: string) => targetOf(policy, identity, anchorDay, limit, className)
  const { allow } = policy
  // A balance's capacity is its grants, which only the store knows.
  if (policy.type === 'balance') return target(undefined)
  if (typeof allow === 'number') return target(allow)
  if (isClassAllow(allow)) {
    const value = callPolicyFunction(policy, 'class', () => allow.class(context))
    const className = value === undefined || value === null ? '' : String(value)
    checkIdentifierLength(className, 'the class', 'InvalidContext', policy.name)
    const classLimit = allow.counts.get(className)
    if (classLimit !== undefined) return target(classLimit, className)
    if (!policy.enforces) return target(undefined, className)
    throw new TokenQuotaExceededError({
      code: 'UnknownQuotaClass',
      violations: [
        {
          policy: policy.name,
          identifier,
          class: className,
          limit: 0,
          used: 0,
          reserved: 0,
          requested: 0,
          resetAt: now,
          retryAfterMs: null,
          unit: policy.unit,
        },
      ],
    })
  }
  const result = callPolicyFunction(policy, 'allow', () => allow(context))
  if (result instanceof Promise) {
    return result.then(
      (limit) => target(checkLimit(policy, limit)),
      (error: unknown) => {
        throw new QuotaInputError({ code: 'PolicyFunctionFailed', policy: policy.name, message: `the allow function threw: ${String(error)}`, cause: error })
      },
    )
  }
  return target(checkLimit(policy, result))
}

/** A status target: an unknown class reads as a zero limit instead of throwing. */
export async function statusTarget(policy: NormalizedPolicy, context: QuotaContext, at: number, storedAnchorDay?: number): Promise<PolicyTarget> {
  try {
    return await resolveTarget(policy, context, at, storedAnchorDay)
  } catch (error) {
    if (!(TokenQuotaExceededError.isInstance(error) && error.code === 'UnknownQuotaClass')) throw error
    const target = await resolveTarget({ ...policy, mode: 'count-only', enforces: false, counts: true }, context, at, storedAnchorDay)
    return { ...target, policy, limit: 0 }
  }
}
