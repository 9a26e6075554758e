import type { TokenEstimator } from '@tokenquota/core'
import { type AdapterOptions, callerContext, estimatePrompt, type MeteredCall, reserveCall, type Json, isObject } from '@tokenquota/core/adapter'
import { endpointOf, framingOf, maxOutputField, maxOutputTokens, outputChoices, promptOf, type EndpointKind } from './prompt.js'
import { ServerContext } from './server-context.js'
import { syntheticResponse } from './synthetic-response.js'

/** The SDK's request options, as far as we read them. */
export interface RequestOptions {
  readonly method?: string
  readonly path?: string
  readonly body?: unknown
  readonly fetchOptions?: Record<PropertyKey, unknown>
  readonly [key: string]: unknown
}

export interface WithTokenQuotaOptions extends AdapterOptions<[params: Json, request: { readonly path: string }]> {
  /**
   * Output tokens reserved for a request that sets no cap (`max_completion_tokens`,
   * `max_tokens`, `max_output_tokens`). A response longer than this is still charged in full.
   * @default 4096
   */
  readonly defaultMaxOutputTokens?: number
  /**
   * Input tokens assumed for server-side context this client has not seen: a Responses call with
   * `previous_response_id` of a response made elsewhere, or with a `conversation`. (A continuation
   * of a response this client charged is reserved for that response's real size.) Raise it if
   * your conversations run longer.
   * @default 32_000
   */
  readonly serverContextTokens?: number
}

const callKey = Symbol.for('tokenquota.openai.call')

/** What the gate hands the transport for one call: a metered call, or a ready fallback response. */
export type CallPlan =
  | {
      readonly metered: MeteredCall
      readonly kind: EndpointKind
      /** We added `stream_options.include_usage`: hide its chunk from the caller. */
      readonly hideUsageChunk: boolean
    }
  | { readonly synthetic: Response }

/** The plan a request carries in its fetch options, if the gate gave it one. */
export function planOf(fetchOptions: unknown): CallPlan | undefined {
  return (fetchOptions as Record<symbol, CallPlan | undefined> | undefined)?.[callKey]
}

/**
 * Reserves for each call before its first attempt: estimates the prompt, reserves (applying
 * fallbacks) and rewrites the request to what was reserved; the plan rides along in its fetch options.
 */
export class CallGate {
  readonly #options: WithTokenQuotaOptions
  readonly #estimator: TokenEstimator
  readonly serverContext: ServerContext

  constructor(options: WithTokenQuotaOptions) {
    this.#options = options
    this.#estimator = options.estimator ?? options.quota.estimator
    this.serverContext = new ServerContext(options.serverContextTokens ?? 32_000)
  }

  async gate(request: RequestOptions): Promise<RequestOptions> {
    const kind = endpointOf(request.method, request.path)
    if (!kind || typeof request.body !== 'object' || request.body === null) return request
    const body = request.body as Json
    const context = callerContext(this.#options, body, { path: request.path! })
    const estimating = this.#estimatePrompt(kind, body)
    const promptTokens = typeof estimating === 'number' ? estimating : await estimating
    const outputTokens = maxOutputTokens(kind, body, this.#options.defaultMaxOutputTokens ?? 4096)
    const model = typeof body.model === 'string' ? body.model : undefined
    const reservation = await reserveCall(this.#options, { label: kind, context, promptTokens, outputTokens, model, provider: 'openai', params: body })
    if (reservation.kind === 'response') return withPlan(request, { synthetic: syntheticResponse(kind, body, reservation.response) })
    const metered = reservation.call
    const sent: Json = { ...body, model: reservation.model }
    let hideUsageChunk = false
    if (body.stream === true && (kind === 'chat' || kind === 'completions') && (body.stream_options as Json | undefined)?.include_usage !== true) {
      sent.stream_options = { ...(body.stream_options as Json | undefined), include_usage: true }
      hideUsageChunk = true
    }
    // A clamp bounds the call's whole output; the field caps each choice.
    const clamp = metered.lease.maxOutputTokens
    if (clamp !== undefined) sent[maxOutputField(kind, body)!] = Math.max(1, Math.floor(clamp / outputChoices(kind, body)))
    return withPlan({ ...request, body: sent }, { metered, kind, hideUsageChunk })
  }

  /**
   * A metered endpoint's request that reached the transport without a plan (sent some way that
   * bypassed the gate): reserved here, from its body, so it is never free — and reported.
   */
  async planAtTransport(input: string | URL | Request, init: RequestInit | undefined): Promise<{ plan: CallPlan | undefined; init: RequestInit | undefined }> {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname
    const kind = endpointOf(init?.method ?? (input instanceof Request ? input.method : 'GET'), path)
    if (!kind) return { plan: undefined, init }
    this.#options.quota.emit('warning', {
      code: 'UnplannedRequest',
      message: `A ${kind} request (${path}) reached the transport without passing the quota gate; it is reserved and charged there`,
    })
    const body = typeof init?.body === 'string' ? parseJsonObject(init.body) : undefined
    // A body we cannot read is estimated from its size: a JSON request of these endpoints is text.
    const text = typeof init?.body === 'string' ? init.body : ''
    const gated = await this.gate({ method: 'post', path, body: body ?? { messages: [{ role: 'user', content: text }], input: text, prompt: text } })
    const plan = planOf(gated.fetchOptions)
    return { plan, init: body && plan && 'metered' in plan ? { ...init, body: JSON.stringify(gated.body) } : init }
  }

  /** Synchronous unless the estimator is (an exact tokenizer still loading). */
  #estimatePrompt(kind: EndpointKind, body: Json): number | Promise<number> {
    const prompt = promptOf(kind, body)
    const withContext = kind === 'responses' ? { ...prompt, fixedTokens: (prompt.fixedTokens ?? 0) + this.serverContext.tokensOf(body) } : prompt
    // The model's own tokenizer is bounded only when no fallback can send the prompt to another.
    const model = this.#options.fallback === undefined && typeof body.model === 'string' ? body.model : undefined
    return estimatePrompt(withContext, framingOf(kind), this.#estimator, model)
  }
}

function withPlan(request: RequestOptions, plan: CallPlan): RequestOptions {
  return { ...request, fetchOptions: { ...request.fetchOptions, [callKey]: plan } }
}

function parseJsonObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return isObject(value) ? value : undefined
  } catch {
    return undefined
  }
}
