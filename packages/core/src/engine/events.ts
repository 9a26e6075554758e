import type { TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaThreshold } from '../policy/policy-types.js'
import type { CallCost, PolicyCharge } from './lease.js'
import type { NormalizedUsage, QuotaContext } from '../shared/types.js'
import type { AuditEntry } from '../store/store-admin.js'

/** A committed usage crossed a soft threshold. Fires once per level, window and identifier. */
export interface ThresholdEvent {
  readonly policy: string
  readonly identifier: string | null
  readonly class: string | undefined
  readonly threshold: QuotaThreshold
  /** Committed after the charge that crossed, in the policy's unit. */
  readonly used: number
  readonly allowed: number
  /** What `used` and `allowed` count: tokens, requests, or US dollars. */
  readonly unit: 'tokens' | 'requests' | 'usd'

  readonly resetAt: number
  readonly context: QuotaContext
}

/** A request was refused. */
export interface ExceededEvent {
  readonly error: TokenQuotaExceededError
  readonly context: QuotaContext
  readonly model: string | undefined
  /** The tool, for a tool call (`model` is then `undefined`). */
  readonly tool?: string
}

/** Real usage was charged. */
export interface UsageEvent {
  readonly leaseId: string
  readonly context: QuotaContext
  readonly model: string | undefined
  /** The tool, for a tool call (`model` is then `undefined`). */
  readonly tool?: string
  readonly usage: NormalizedUsage
  /** `true` when the caller had no usage and the reservation was charged instead. */
  readonly estimated: boolean
  readonly charges: readonly PolicyCharge[]
  /** The call's price in US dollars and its source, when a money policy applied: a report can re-price it. */
  readonly cost?: CallCost
}

/** An adapter answered with a fallback instead of refusing: another model, a ready response, or a cached answer to the same request. */
export interface FallbackEvent {
  readonly kind: 'model' | 'response' | 'cache'
  /** The model that was refused. */
  readonly from: string | undefined
  /** The model used instead (`undefined` for a ready response). */
  readonly to: string | undefined
  /** The refusal that triggered the fallback; `error.policy` names the refusing policy. */
  readonly error: TokenQuotaExceededError
  readonly context: QuotaContext
}

/** The store failed; `failureMode` says what the engine did about it. */
export interface StoreErrorEvent {
  readonly error: unknown
  readonly operation: 'reserve' | 'settle' | 'extend' | 'read'
  readonly failureMode: 'open' | 'closed'
}

/**
 * After an outage under `failureMode: 'open'`: what the local limiter charged while the store was
 * down has now been written to the store (once), so the shared counters include it.
 */
export interface StoreReplayedEvent {
  /** Per counter: its family (policy or shared name, `#class` for a class), its identifier key, and the amount written, in the counter's unit. */
  readonly charges: ReadonlyArray<{ readonly counter: string; readonly identifier: string; readonly amount: number }>
}

/** An identifier crossed a `throttle` threshold: its calls are paced until `until`. */
export interface ThrottleEvent {
  readonly policy: string
  readonly identifier: string | null
  readonly until: number
  readonly minIntervalMs: number
}

/** Something is probably misconfigured, e.g. a model that no per-model policy matches. */
export interface WarningEvent {
  readonly code:
    | 'UnmatchedModel'
    /** A tool call that no policy's `tools` selects: it is not limited. */
    | 'UnmatchedTool'
    | 'ListenerFailed'
    | 'UsageMissing'
    | 'ChargeLost'
    | 'PolicyFunctionFailed'
    | 'UnplannedRequest'
    | 'EstimateLow'
    | 'OverRequestCap'
    | 'CountTokensFailed'
    /** An anchored policy (`anchor`) got a request without an anchor: it counts that caller in calendar windows. */
    | 'MissingAnchor'
    /** A cycle's rollover into credits could not be read or written; it is tried again on the caller's next request. */
    | 'RolloverFailed'
    /** Balance policies keep paid credits in a store that loses them on a restart without AOF persistence (RedisStore, UpstashStore). */
    | 'VolatileCredits'
    /** The store failed on a call that touches a credit balance: it fails closed even with `failureMode: 'open'`. */
    | 'CreditsNeedStore'
  readonly message: string
}

/** A reservation whose lease expired before it was committed or released (a lost commit). */
export interface LeaseExpiredEvent {
  readonly leaseId: string
  readonly context: QuotaContext
  readonly model: string | undefined
  /** The tool, for a tool call (`model` is then `undefined`). */
  readonly tool?: string
  /** What the store does with the held amounts (`onLeaseExpiry`). A commit after this still replaces the charge with the real usage, once. */
  readonly outcome: 'charged' | 'released'
  /** Per policy that held: its name, the identifier, and the tokens held. */
  readonly holds: ReadonlyArray<{ readonly policy: string; readonly identifier: string | null; readonly amount: number }>
}

/** A rollover granted: `amount` of the cycle's `unused` allowance became credits on `into`. */
export interface RolloverEvent {
  readonly policy: string
  readonly identifier: string | null
  /** The balance policy credited. */
  readonly into: string
  /** The top-up's idempotency key: `rollover:<policy>:<identifier key>:<cycle start>`. */
  readonly key: string
  /** The cycle whose unused allowance rolled over. */
  readonly cycleStart: number
  readonly cycleEnd: number
  /** In the policy's unit. */
  readonly unused: number
  readonly amount: number
  readonly expiresAt: number
  /** `false`: another process (or an earlier call) had granted it already; nothing changed. */
  readonly applied: boolean
}

/** A charge took a credit balance to or below its policy's `lowAt` (once per crossing). */
export interface CreditsLowEvent {
  readonly policy: string
  readonly identifier: string | null
  /** The balance after the charge, in the policy's unit (tokens, or dollars). */
  readonly balance: number
  /** The policy's `lowAt`, in its unit. */
  readonly level: number
}

/** A credit grant reached its `expiresAt` with something left: that remainder is gone (an `expiry` ledger row). */
export interface CreditsExpiredEvent {
  readonly policy: string
  readonly identifier: string | null
  /** The grant's key (its top-up's). */
  readonly grant: string
  /** What was left of it and is gone, in the policy's unit. */
  readonly amount: number
  /** When it expired (epoch ms). */
  readonly at: number
}

/**
 * A charge was more than the balance's grants could pay: the balance stopped at zero and `amount`
 * went unpaid (a call used more than its reservation held). Never silently free: bill it, or
 * hold larger estimates.
 */
export interface CreditsUnpaidEvent {
  readonly policy: string
  readonly identifier: string | null
  readonly leaseId: string
  /** In the policy's unit. */
  readonly amount: number
}

/** `quota.admin.topUp` credited a balance (`applied: true`), or its key had credited it before (`applied: false`: nothing changed). */
export interface CreditsToppedUpEvent {
  readonly policy: string
  readonly identifier: string | null
  readonly key: string
  /** In the policy's unit. */
  readonly amount: number
  readonly applied: boolean
}

export interface QuotaEventMap {
  admin: AuditEntry
  leaseExpired: LeaseExpiredEvent
  threshold: ThresholdEvent
  exceeded: ExceededEvent
  usage: UsageEvent
  fallback: FallbackEvent
  storeError: StoreErrorEvent
  storeReplayed: StoreReplayedEvent
  throttle: ThrottleEvent
  warning: WarningEvent
  rollover: RolloverEvent
  creditsLow: CreditsLowEvent
  creditsExpired: CreditsExpiredEvent
  creditsUnpaid: CreditsUnpaidEvent
  creditsToppedUp: CreditsToppedUpEvent
}

export type QuotaEventName = keyof QuotaEventMap
export type QuotaEventHandlers = { readonly [Name in QuotaEventName]?: (event: QuotaEventMap[Name]) => void }

/** A tiny typed emitter. A listener that throws is reported as a `warning`, never to the caller. */
export class QuotaEvents {
  readonly #listeners = new Map<QuotaEventName, Set<(event: never) => void>>()

  constructor(handlers: QuotaEventHandlers = {}) {
    for (const [name, handler] of Object.entries(handlers)) {
      if (handler) this.on(name as QuotaEventName, handler as (event: QuotaEventMap[QuotaEventName]) => void)
    }
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<Name extends QuotaEventName>(name: Name, listener: (event: QuotaEventMap[Name]) => void): () => void {
    let listeners = this.#listeners.get(name)
    if (!listeners) {
      listeners = new Set()
      this.#listeners.set(name, listeners)
    }
    listeners.add(listener as (event: never) => void)
    return () => listeners.delete(listener as (event: never) => void)
  }

  has(name: QuotaEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0
  }

  emit<Name extends QuotaEventName>(name: Name, event: QuotaEventMap[Name]): void {
    const listeners = this.#listeners.get(name)
    if (!listeners) return
    for (const listener of listeners) {
      try {
        ;(listener as (event: QuotaEventMap[Name]) => void)(event)
      } catch (error) {
        if (name === 'warning') continue
        this.emit('warning', { code: 'ListenerFailed', message: `A "${name}" listener threw: ${String(error)}` })
      }
    }
  }
}
