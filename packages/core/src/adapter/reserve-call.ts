import type { TokenQuota } from '../engine/token-quota.js'
import { TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'
import { type FallbackOption, resolveFallback } from './fallback.js'
import { MeteredCall } from './metered-call.js'
import type { ResponseCache } from './response-cache.js'
import type { AdapterOptions } from './options.js'

/** The outcome of reserving for one model call: a metered call on a model, or a ready fallback response. */
export type CallReservation =
  | { readonly kind: 'metered'; readonly call: MeteredCall; readonly model: string | undefined }
  | { readonly kind: 'response'; readonly response: string | Record<string, unknown>; readonly model: string | undefined }

/** One model call to reserve for. */
export interface CallToReserve {
  /** What the call is, for messages (`chat`, `generateContent`, …); a function of the model reserved. */
  readonly label: string | ((model: string | undefined) => string)
  /** Explicit context (see `callerContext`), merged over the ambient one. */
  readonly context: QuotaContext | undefined
  readonly promptTokens: number
  /** The most output tokens the call may produce. */
  readonly outputTokens: number
  readonly model: string | undefined
  /** Who serves the model (`openai`, `anthropic`, `google`, …), for its price: some models are priced only under their provider. */
  readonly provider?: string | undefined
  /** The request as the caller sent it, for fallback functions. */
  readonly params: Readonly<Record<string, unknown>>
}

/**
 * The adapters' one "reserve" step: reserves for a call and returns its {@link MeteredCall}, applying
 * the `fallback` when the requested model is refused: cheaper models in turn (never one twice), or
 * a ready response. Each fallback emits a `fallback` event. Throws the last refusal when no fallback
 * is left. The call is then sent with `MeteredCall.send` and charged with `commitUsage` or a `StreamMeter`.
 */
export async function reserveCall(
  options: Pick<AdapterOptions<never[], FallbackOption>, 'quota' | 'fallback' | 'estimator' | 'onStreamAbort' | 'cache'>,
  call: CallToReserve,
): Promise<CallReservation> {
  const { quota, cache } = options
  const cacheKey = cache?.keyOf({ ...quota.currentContext(), ...call.context }, call.model, call.params)
  const cached = cacheKey === undefined ? undefined : { cache: cache!, key: cacheKey }
  const reserved = await reserveWithFallbacks(quota, options.fallback, call, cached)
  if (reserved.kind === 'response') return reserved
  const { lease, model } = reserved
  const label = typeof call.label === 'function' ? call.label(model) : call.label
  const estimator = options.estimator ?? quota.estimator
  // The answer of the model asked for is kept for the same request; a fallback model's is not.
  const onAnswer = cached && model === call.model ? (text: string) => cached.cache.set(cached.key, text) : undefined
  const metered = new MeteredCall({ label, lease, promptTokens: call.promptTokens, quota, estimator, onStreamAbort: options.onStreamAbort, onAnswer })
  return { kind: 'metered', call: metered, model }
}

async function reserveWithFallbacks(
  quota: TokenQuota,
  fallback: FallbackOption | undefined,
  call: CallToReserve,
  cached: { readonly cache: ResponseCache; readonly key: string } | undefined,
) {
  const { context, params } = call
  const estimate = { input: call.promptTokens, output: call.outputTokens }
  const eventContext = { ...quota.currentContext(), ...context }
  const tried = new Set<string | undefined>()
  let model = call.model
  for (;;) {
    try {
      const request = call.provider === undefined ? { estimate, model } : { estimate, model, provider: call.provider }
      return { kind: 'lease', lease: await quota.reserve(context, request), model } as const
    } catch (error) {
      if (!TokenQuotaExceededError.isInstance(error)) throw error
      const answer = tried.size === 0 ? cached?.cache.get(cached.key) : undefined
      if (answer !== undefined) {
        quota.emit('fallback', { kind: 'cache', from: model, to: undefined, error, context: eventContext })
        return { kind: 'response', response: answer, model } as const
      }
      tried.add(model)
      const decision = await resolveFallback(fallback, { model, error, params, context: eventContext, tried })
      if (decision === undefined) throw error
      if ('response' in decision) {
        quota.emit('fallback', { kind: 'response', from: model, to: undefined, error, context: eventContext })
        return { kind: 'response', response: decision.response, model } as const
      }
      quota.emit('fallback', { kind: 'model', from: model, to: decision.model, error, context: eventContext })
      model = decision.model
    }
  }
}
