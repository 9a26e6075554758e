import type { MeteredCall } from '@tokenquota/core/adapter'
import { CallGate, type RequestOptions } from './call-gate.js'
import { meterResponse } from './meter-response.js'
import type { WithTokenQuotaOptions } from './options.js'
import type { Json } from '@tokenquota/core/adapter'

/** The parts of an `Anthropic` client we use: public `withOptions`, and the request hook. */
export interface AnthropicLike {
  withOptions(options: never): unknown
}

/** What the SDK's `makeRequest` resolves to: the response, with what its parser needs. */
interface RequestResult {
  response: Response
  options: RequestOptions
  controller: AbortController
  requestLogID: string
  retryOfRequestLogID: string | undefined
  startTime: number
}

interface ClientInternals {
  fetch?: typeof fetch
  withOptions(options: Json): ClientInternals
  makeRequest(
    options: RequestOptions | Promise<RequestOptions>,
    retriesRemaining: number | null,
    retryOfRequestLogID: string | undefined,
    ...rest: unknown[]
  ): Promise<RequestResult>
  messages: { countTokens(params: Json, options?: Json): PromiseLike<{ input_tokens: number }> }
}

const wrapped = Symbol.for('tokenquota.anthropic.wrapped')
const callKey = Symbol.for('tokenquota.anthropic.call')

/** The request with its metered call in its fetch options, which the SDK passes to every attempt's fetch. */
function withMeteredCall(request: RequestOptions, metered: MeteredCall): RequestOptions {
  return { ...request, fetchOptions: { ...(request.fetchOptions as Json | undefined), [callKey]: metered } }
}

function meteredCallOf(init: RequestInit | undefined): MeteredCall | undefined {
  return (init as Record<symbol, MeteredCall | undefined> | undefined)?.[callKey]
}

/** Fields of a Messages request that `countTokens` takes. */
const countedFields = ['model', 'messages', 'system', 'tools', 'tool_choice', 'thinking', 'output_config', 'mcp_servers']

/**
 * Returns a client of exactly the type given (a new instance made with `withOptions`; the original
 * is untouched) on which every Messages call — `messages.create` (plain and streamed),
 * `messages.stream()`, `messages.parse()`, `beta.messages.*`, the tool runner — is reserved against
 * the caller's quota before it is sent (prompt + `max_tokens`) and charged with the usage Anthropic
 * returns: input, output (thinking included), and cache reads and writes.
 *
 * @example
 * const client = withTokenQuota(new Anthropic(), { quota, fallback: { 'claude-opus-4-8': 'claude-haiku-4-5' } })
 * await quota.withContext({ user: 'alice' }, () => client.messages.create({ model: 'claude-opus-4-8', max_tokens: 1024, messages }))
 */
export function withTokenQuota<Client extends AnthropicLike>(client: Client, options: WithTokenQuotaOptions): Client {
  const raw = client as unknown as ClientInternals & Record<symbol, unknown>
  if (raw[wrapped]) throw new TypeError('This Anthropic client is already wrapped by withTokenQuota(); wrap the original client once')
  if (typeof raw.withOptions !== 'function' || typeof (raw as { makeRequest?: unknown }).makeRequest !== 'function') {
    throw new TypeError('withTokenQuota() expects an Anthropic client from the `@anthropic-ai/sdk` package')
  }
  const transport = raw.fetch ?? globalThis.fetch

  /**
   * Every attempt's HTTP exchange, with the signal the SDK sends it with (its own: the caller's
   * abort and its timeout both abort it): the call is marked sent, and a successful response metered.
   */
  async function meteringFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const metered = meteredCallOf(init)
    if (metered === undefined) return transport(input, init)
    metered.sending(init?.signal)
    const response = await transport(input, init)
    return response.ok ? meterResponse(metered, response) : response
  }

  const derived = raw.withOptions({ fetch: meteringFetch }) as ClientInternals & Record<symbol, unknown>
  const gate = new CallGate(options, async (params, request) => {
    // Beta features' headers are not passed on: a count the API refuses falls back to the estimate.
    const body = Object.fromEntries(countedFields.filter((field) => params[field] !== undefined).map((field) => [field, params[field]]))
    const counted = await derived.messages.countTokens(body, { signal: request.signal })
    return counted.input_tokens
  })
  const makeRequest = derived.makeRequest

  // Retries re-enter makeRequest with a retry id and the same options (the metered call rides in
  // their fetch options): only the first attempt reserves, and only the call as a whole (all
  // retries exhausted) settles a failure: released, or charged when its last attempt was aborted
  // after being sent (the caller's abort, or the SDK's timeout).
  derived.makeRequest = async function (this: ClientInternals, optionsInput, retriesRemaining, retryOfRequestLogID, ...rest) {
    if (retryOfRequestLogID !== undefined) return makeRequest.call(this, optionsInput, retriesRemaining, retryOfRequestLogID, ...rest)
    const request = await optionsInput
    const plan = await gate.plan(request)
    if (plan.kind === 'unmetered') return makeRequest.call(this, request, retriesRemaining, retryOfRequestLogID, ...rest)
    if (plan.kind === 'synthetic') {
      return {
        response: plan.response,
        options: request,
        controller: new AbortController(),
        requestLogID: 'log_tokenquota',
        retryOfRequestLogID,
        startTime: Date.now(),
      }
    }
    const sent = withMeteredCall(plan.request, plan.metered)
    try {
      return await makeRequest.call(this, sent, retriesRemaining, retryOfRequestLogID, ...rest)
    } catch (error) {
      await plan.metered.fail(error)
      throw error
    }
  }
  derived.withOptions = (overrides: Json) => withTokenQuota(raw.withOptions(overrides) as unknown as Client, options) as unknown as ClientInternals
  Object.defineProperty(derived, wrapped, { value: true })
  return derived as unknown as Client
}
