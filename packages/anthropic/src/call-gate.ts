import { callerContext, type MeteredCall, reserveCall, type Json, positiveInteger } from '@tokenquota/core/adapter'
import type { WithTokenQuotaOptions } from './options.js'
import { anthropicEstimator, estimateAnthropicPrompt, type PromptAllowances } from './prompt.js'
import { syntheticResponse } from './synthetic-response.js'

/** The SDK's request options, as far as we read them. */
export interface RequestOptions {
  readonly method?: string
  readonly path?: string
  readonly body?: unknown
  readonly stream?: boolean
  readonly signal?: AbortSignal | null
  readonly [key: string]: unknown
}

/** What to do with one request: send it metered (rewritten to what was reserved), answer it locally, or pass it on. */
export type CallPlan =
  | { readonly kind: 'metered'; readonly metered: MeteredCall; readonly request: RequestOptions }
  | { readonly kind: 'synthetic'; readonly response: Response }
  | { readonly kind: 'unmetered' }

/** Counts a request's prompt with the API (`messages.countTokens`). */
export type PromptCounter = (params: Json, request: RequestOptions) => Promise<number>

/** Thinking needs a budget of at least this many tokens, below `max_tokens`. */
const minThinkingBudget = 1024

/** A Messages create request (`messages.create`, `.stream()`, `.parse()`, and their `beta` twins): the one that generates tokens. */
function isMessagesCreate(request: RequestOptions): request is RequestOptions & { body: Json } {
  return (
    request.method?.toLowerCase() === 'post' &&
    request.path?.split('?')[0] === '/v1/messages' &&
    typeof request.body === 'object' &&
    request.body !== null &&
    !Array.isArray(request.body)
  )
}

/**
 * Reserves for each Messages call before its first attempt: counts or estimates the prompt,
 * reserves for it and `max_tokens` (applying fallbacks), and rewrites the request to what was
 * reserved: the model, and `max_tokens` (and a thinking budget) when a per-request cap clamps them.
 */
export class CallGate {
  readonly #options: WithTokenQuotaOptions
  readonly #countPrompt: PromptCounter
  readonly #allowances: PromptAllowances

  constructor(options: WithTokenQuotaOptions, countPrompt: PromptCounter) {
    this.#options = { ...options, estimator: options.estimator ?? anthropicEstimator }
    this.#countPrompt = countPrompt
    this.#allowances = { documentTokens: options.documentTokens ?? 25_000 }
  }

  async plan(request: RequestOptions): Promise<CallPlan> {
    if (!isMessagesCreate(request)) return { kind: 'unmetered' }
    const body = request.body
    const model = typeof body.model === 'string' ? body.model : undefined
    const reservation = await reserveCall(this.#options, {
      label: 'messages',
      context: callerContext(this.#options, body),
      promptTokens: await this.#promptTokens(body, request),
      outputTokens: positiveInteger(body.max_tokens) ?? this.#options.defaultMaxOutputTokens ?? 4096,
      model,
      provider: 'anthropic',
      params: body,
    })
    const streamed = request.stream === true || body.stream === true
    if (reservation.kind === 'response') return { kind: 'synthetic', response: syntheticResponse(reservation.response, model, streamed) }
    const metered = reservation.call
    const sent: Json = { ...body, model: reservation.model }
    const clamp = metered.lease.maxOutputTokens
    if (clamp !== undefined) Object.assign(sent, clampedOutput(body, clamp))
    return { kind: 'metered', metered, request: { ...request, body: sent } }
  }

  async #promptTokens(body: Json, request: RequestOptions): Promise<number> {
    if (this.#options.countTokens) {
      try {
        return await this.#countPrompt(body, request)
      } catch (error) {
        this.#options.quota.emit('warning', {
          code: 'CountTokensFailed',
          message: `messages.countTokens failed (${error instanceof Error ? error.message : String(error)}); the prompt is estimated instead`,
        })
      }
    }
    return estimateAnthropicPrompt(this.#options.estimator!, body, this.#allowances)
  }
}

/**
 * `max_tokens` lowered to a per-request cap. A thinking budget must stay below it and at least
 * 1024 tokens: it is lowered with it, or thinking is turned off when the cap leaves no room.
 */
function clampedOutput(body: Json, clamp: number): Json {
  const maxTokens = Math.max(1, clamp)
  const thinking = body.thinking as Json | undefined
  if (thinking?.type !== 'enabled' || typeof thinking.budget_tokens !== 'number' || thinking.budget_tokens < maxTokens) return { max_tokens: maxTokens }
  if (maxTokens <= minThinkingBudget) return { max_tokens: maxTokens, thinking: { type: 'disabled' } }
  return { max_tokens: maxTokens, thinking: { ...thinking, budget_tokens: maxTokens - 1 } }
}
