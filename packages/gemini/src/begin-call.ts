import { callerContext, type MeteredCall, reserveCall } from '@tokenquota/core/adapter'
import type { WithTokenQuotaOptions } from './options.js'

export type BegunCall =
  | {
      readonly kind: 'metered'
      readonly call: MeteredCall
      readonly model: string | undefined
      /** Per candidate, when a per-request cap clamped the output. */
      readonly maxOutputTokens: number | undefined
    }
  | { readonly kind: 'response'; readonly response: string | Record<string, unknown> }

/** Reserves for one Gemini call (with fallbacks) and returns what to do. */
export async function beginCall(
  options: WithTokenQuotaOptions,
  call: {
    label: string
    /** As the caller wrote it; an API-style `models/…` name is reserved under its bare name. */
    model: string | undefined
    params: Record<string, unknown>
    promptTokens: number
    /** Per candidate. */
    maxOutputTokens: number | undefined
    /** Candidates asked for (`candidateCount`): each may produce up to `maxOutputTokens`. @default 1 */
    candidates?: number
  },
): Promise<BegunCall> {
  const candidates = call.candidates ?? 1
  const requested = call.model === undefined ? undefined : modelName(call.model)
  const reservation = await reserveCall(options, {
    label: call.label,
    context: callerContext(options, call.params),
    promptTokens: call.promptTokens,
    outputTokens: (call.maxOutputTokens ?? options.defaultMaxOutputTokens ?? 8192) * candidates,
    model: requested,
    provider: 'google',
    params: call.params,
  })
  if (reservation.kind === 'response') return { kind: 'response', response: reservation.response }
  const clamped = reservation.call.lease.maxOutputTokens
  return {
    kind: 'metered',
    call: reservation.call,
    // The caller's own spelling when no fallback changed the model.
    model: reservation.model === requested ? call.model : reservation.model,
    maxOutputTokens: clamped === undefined ? undefined : Math.max(1, Math.floor(clamped / candidates)),
  }
}

/** A model's bare name: the API's resource names (`models/gemini-2.5-pro`) match per-model policies too. */
export function modelName(model: string): string {
  return model.replace(/^(models|tunedModels)\//, '')
}
