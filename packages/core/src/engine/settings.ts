import { QuotaConfigError, QuotaInputError } from '../shared/errors.js'
import type { NormalizedPolicy } from '../policy/normalized-policy.js'
import { checkIdentifierLength } from '../policy/identifier-length.js'
import { normalizeUnidentified } from '../policy/policy-fields.js'
import { normalizePolicies } from '../policy/policy-set.js'
import type { LeaseExpiry } from '../store/quota-store.js'
import type { QuotaContext } from '../shared/types.js'
import type { TokenQuotaOptions } from './token-quota-options.js'
import { genaiPrices } from '../price/genai-prices.js'
import { PriceBook, priceTablesOf } from '../price/price-book.js'
import { isLifetime, maxLeaseTtlMs } from './lease.js'

const defaultLeaseTtlMs = 600_000

/** The engine's options, checked, with their defaults. */
export interface EngineSettings {
  readonly policies: readonly NormalizedPolicy[]
  readonly leaseTtlMs: number
  readonly onLeaseExpiry: LeaseExpiry
  readonly failureMode: 'closed' | 'open'
  readonly commitMode: 'background' | 'await'
  readonly now: () => number
  readonly shardOf: (context: QuotaContext) => string | undefined
  /** Whether a `shardKey` was given: keys may then live in several shards. */
  readonly sharded: boolean
  /** The price tables, when a policy counts US dollars. */
  readonly prices: PriceBook | undefined
}

/** Checks every option now: a misconfiguration throws `QuotaConfigError` here, never at request time. */
export function engineSettings(options: TokenQuotaOptions): EngineSettings {
  if (typeof options !== 'object' || options === null) {
    throw new QuotaConfigError({ code: 'InvalidConfiguration', message: 'createTokenQuota() needs an options object with `policies`' })
  }
  const unidentified = normalizeUnidentified(undefined, options.unidentified ?? 'refuse', 'unidentified')
  const leaseTtlMs = options.leaseTtlMs ?? defaultLeaseTtlMs
  if (!isLifetime(leaseTtlMs)) {
    throw invalid('leaseTtlMs', `Expected \`leaseTtlMs\` to be a positive number of ms, at most ${maxLeaseTtlMs} (366 days), got \`${String(leaseTtlMs)}\``)
  }
  const policies = normalizePolicies(options.policies, { unidentified })
  const countsMoney = policies.some((policy) => policy.unit === 'usd')
  return {
    policies,
    prices: countsMoney ? new PriceBook(options.prices === undefined ? [genaiPrices()] : priceTablesOf(options.prices)) : undefined,
    leaseTtlMs,
    onLeaseExpiry: oneOf('onLeaseExpiry', options.onLeaseExpiry ?? 'charge', ['charge', 'release'] as const),
    failureMode: oneOf('failureMode', options.failureMode ?? 'closed', ['closed', 'open'] as const),
    commitMode: oneOf('commitMode', options.commitMode ?? 'background', ['background', 'await'] as const),
    now: options.now ? wholeMilliseconds(options.now) : Date.now,
    shardOf: shardFunction(options.shardKey),
    sharded: options.shardKey !== undefined,
  }
}

function invalid(field: string, message: string): QuotaConfigError {
  return new QuotaConfigError({ code: 'InvalidConfiguration', field, message })
}

function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (allowed.includes(value as T)) return value as T
  throw invalid(field, `Expected \`${field}\` to be ${allowed.map((option) => `'${option}'`).join(' or ')}, got \`${String(value)}\``)
}

/** A `shardKey` whose failure is the caller's input error, not a crash. */
function shardFunction(shardKey: TokenQuotaOptions['shardKey']): (context: QuotaContext) => string | undefined {
  if (!shardKey) return () => undefined
  return (context) => {
    let shard: unknown
    try {
      shard = shardKey(context)
    } catch (error) {
      throw new QuotaInputError({ code: 'PolicyFunctionFailed', message: `the shardKey function threw: ${String(error)}`, cause: error })
    }
    if (shard === undefined) return undefined
    if (typeof shard !== 'string') {
      throw new QuotaInputError({ code: 'InvalidContext', message: `Expected the shardKey function to return a string or undefined, got ${typeof shard}` })
    }
    checkIdentifierLength(shard, 'the shard', 'InvalidContext')
    return shard
  }
}

/**
 * A custom clock, read in whole milliseconds: stores compare window starts exactly, so a fraction
 * (e.g. `performance.timeOrigin + performance.now()`) would never match twice.
 */
function wholeMilliseconds(clock: () => number): () => number {
  return () => {
    const time = clock()
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw invalid('now', `Expected the \`now\` clock to return epoch milliseconds, got \`${String(time)}\``)
    }
    return Math.floor(time)
  }
}
