import { MeteredCall, reserveCall, type QuotaContext } from '@tokenquota/core'
import type { WithTokenQuotaOptions } from './options.js'

export type BegunCall =
  | { readonly kind: 'metered'; readonly call: MeteredCall; readonly model: string | undefined; readonly maxOutputTokens: number | undefined }
  | { readonly kind: 'response'; readonly response: string | Record<string, unknown> }

/** Reserves for one Gemini call (with fallbacks) and returns what to do. */
export async function beginCall(
  options: WithTokenQuotaOptions,
  call: { label: string; model: string | undefined; params: Record<string, unknown>; promptTokens: number; maxOutputTokens: number | undefined },
): Promise<BegunCall> {
  const { quota } = options
  const context: QuotaContext | undefined = quota.currentContext() === undefined ? options.context?.(call.params) : undefined
  const output = call.maxOutputTokens ?? options.defaultMaxOutputTokens ?? 8192
  const reservation = await reserveCall({ quota, context, estimate: { input: call.promptTokens, output }, model: call.model, fallback: options.fallback, params: call.params })
  if (reservation.kind === 'response') return { kind: 'response', response: reservation.response }
  const metered = new MeteredCall({
    label: call.label,
    lease: reservation.lease,
    promptTokens: call.promptTokens,
    quota,
    estimator: options.estimator ?? quota.estimator,
    onStreamAbort: options.onStreamAbort,
  })
  return { kind: 'metered', call: metered, model: reservation.model, maxOutputTokens: reservation.lease.maxOutputTokens }
}
