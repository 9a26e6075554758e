import type { TokenQuotaExceededError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'

/** What a fallback function learns about a refused call. */
export interface FallbackInfo {
  /** The model that was refused. */
  readonly model: string | undefined
  /** The refusal: `error.policy`, `error.retryAfterMs`, … */
  readonly error: TokenQuotaExceededError
  /** The request body as the caller sent it. */
  readonly params: Readonly<Record<string, unknown>>
  readonly context: QuotaContext
  /** Models already refused for this call (a chain never tries one twice). */
  readonly tried: ReadonlySet<string | undefined>
}

/**
 * A fallback's answer: a model to try instead, a ready response (a string becomes the assistant's
 * text; an object is returned as the provider's response), or `undefined` to refuse.
 */
export type FallbackAnswer = string | { readonly response: string | Record<string, unknown> } | undefined

/**
 * What an adapter does when the reservation for the requested model is refused: a map from model
 * to cheaper model (followed as a chain: `{ 'gpt-4o': 'gpt-4o-mini', 'gpt-4o-mini': 'gpt-4.1-nano' }`),
 * or a function. A ready response is returned in the SDK's own shape, without calling the provider
 * and without charging. When every fallback is refused, the call throws `TokenQuotaExceededError`.
 */
export type FallbackOption = Readonly<Record<string, string>> | ((info: FallbackInfo) => FallbackAnswer | Promise<FallbackAnswer>)

export type FallbackDecision = { readonly model: string } | { readonly response: string | Record<string, unknown> }

/** Applies the `fallback` option to one refusal. */
export async function resolveFallback(option: FallbackOption | undefined, info: FallbackInfo): Promise<FallbackDecision | undefined> {
  if (option === undefined) return undefined
  const answer = typeof option === 'function' ? await option(info) : info.model === undefined ? undefined : option[info.model]
  if (answer === undefined) return undefined
  if (typeof answer === 'string') return info.tried.has(answer) ? undefined : { model: answer }
  return { response: answer.response }
}
