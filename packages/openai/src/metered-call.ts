import { QuotaInputError, type QuotaLease, type TokenEstimator, type TokenQuota, type Usage } from '@tokenquota/core'
import type { EndpointKind } from './endpoints.js'

/** What to charge for a stream that ended early (cancelled by the caller, or broken mid-way). */
export type StreamAbortCharge = 'produced' | 'reservation'

/**
 * One metered model call: its lease and what is known about its prompt. Settles exactly once,
 * whichever of the response paths (usage, no usage, interruption, HTTP failure) gets there first.
 * Settling never throws: store failures are reported by the engine's `storeError` event and the
 * lease then expires on its own.
 */
export class MeteredCall {
  readonly kind: EndpointKind
  readonly lease: QuotaLease
  readonly promptTokens: number
  /** `true` when we added `stream_options.include_usage` and must hide its chunk. */
  readonly hideUsageChunk: boolean
  readonly #quota: TokenQuota
  readonly #estimator: TokenEstimator
  readonly #onStreamAbort: StreamAbortCharge
  #settled = false

  constructor(options: {
    kind: EndpointKind
    lease: QuotaLease
    promptTokens: number
    hideUsageChunk: boolean
    quota: TokenQuota
    estimator: TokenEstimator
    onStreamAbort: StreamAbortCharge
  }) {
    this.kind = options.kind
    this.lease = options.lease
    this.promptTokens = options.promptTokens
    this.hideUsageChunk = options.hideUsageChunk
    this.#quota = options.quota
    this.#estimator = options.estimator
    this.#onStreamAbort = options.onStreamAbort
  }

  get settled(): boolean {
    return this.#settled
  }

  /** Charges the provider's usage; falls back to an estimate when it is missing or malformed. */
  async commitUsage(usage: Usage | undefined, outputText: string): Promise<void> {
    if (!this.#begin()) return
    // All zeros is what some compatible servers send when they do not count: a call is never free.
    if (usage !== undefined && !usage.total && !usage.input && !usage.output) usage = undefined
    if (usage !== undefined) {
      try {
        await this.lease.commit(usage)
        return
      } catch (error) {
        if (!QuotaInputError.isInstance(error)) return
        this.#quota.emit('warning', { code: 'UsageMissing', message: `The ${this.kind} response had malformed usage (${error.message}); charging an estimate` })
      }
    } else {
      this.#quota.emit('warning', { code: 'UsageMissing', message: `The ${this.kind} response had no usage; charging an estimate` })
    }
    await this.#commitEstimate(outputText)
  }

  /** A stream stopped before its usage arrived: charge the prompt and what was generated. */
  async commitInterrupted(producedText: string): Promise<void> {
    if (!this.#begin()) return
    if (this.#onStreamAbort === 'reservation') {
      await this.lease.commit().catch(() => undefined)
      return
    }
    await this.#commitEstimate(producedText)
  }

  /** The call failed before producing output (HTTP error, connection error): return the reservation. */
  async release(): Promise<void> {
    if (!this.#begin()) return
    await this.lease.release().catch(() => undefined)
  }

  #begin(): boolean {
    if (this.#settled) return false
    this.#settled = true
    return true
  }

  async #commitEstimate(outputText: string): Promise<void> {
    try {
      const output = outputText === '' ? 0 : await this.#estimator(outputText)
      await this.lease.commit({ input: this.promptTokens, output }, { estimated: true })
    } catch {
      // Reported through the engine's events; the lease expires on its own.
    }
  }
}
