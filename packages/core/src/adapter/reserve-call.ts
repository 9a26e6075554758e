import { TokenQuotaExceededError } from '../shared/errors.js'
import { resolveFallback, type FallbackOption } from './fallback.js'
import type { QuotaLease } from '../engine/lease.js'
import type { TokenQuota } from '../engine/token-quota.js'
import type { QuotaContext, TokenEstimate } from '../shared/types.js'

/** The outcome of reserving for one model call: a lease for a model, or a ready fallback response. */
export type CallReservation =
  | { readonly kind: 'lease'; readonly lease: QuotaLease; readonly model: string | undefined }
  | { readonly kind: 'response'; readonly response: string | Record<string, unknown>; readonly model: string | undefined }

/**
 * Reserves for one model call on behalf of an adapter, applying its `fallback` when the requested
 * model is refused: cheaper models in turn (never one twice), or a ready response. Each fallback
 * emits a `fallback` event. Throws the last refusal when no fallback is left.
 */
export async function reserveCall(options: {
  readonly quota: TokenQuota
  /** Explicit context, merged over the ambient one. */
  readonly context: QuotaContext | undefined
  readonly estimate: TokenEstimate
  readonly model: string | undefined
  readonly fallback: FallbackOption | undefined
  /** The request as the caller sent it, for fallback functions. */
  readonly params: Readonly<Record<string, unknown>>
}): Promise<CallReservation> {
  const { quota, context, estimate, fallback, params } = options
  const eventContext = { ...quota.currentContext(), ...context }
  const tried = new Set<string | undefined>()
  let model = options.model
  for (;;) {
    try {
      return { kind: 'lease', lease: await quota.reserve(context, { estimate, model }), model }
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      tried.add(model)
      const decision = await resolveFallback(fallback, { model, error, params, context: eventContext, tried })
      if (decision === undefined) throw error
      if ('response' in decision) {
        quota.emit('fallback', { kind: 'response', from: model, to: undefined, error, context: eventContext })
        return { kind: 'response', response: decision.response, model }
      }
      quota.emit('fallback', { kind: 'model', from: model, to: decision.model, error, context: eventContext })
      model = decision.model
    }
  }
}
