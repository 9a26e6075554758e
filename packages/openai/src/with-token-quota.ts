import {
  MeteredCall,
  reserveCall,
  type FallbackOption,
  type QuotaContext,
  type StreamAbortCharge,
  type TokenEstimator,
  type TokenQuota,
} from '@tokenquota/core'
import { estimatePrompt } from '@tokenquota/core/adapter'
import { endpointOf, maxOutputField, maxOutputTokens, outputChoices, outputTextOf, promptOf, framingOf, usageOf, type EndpointKind } from './endpoints.js'
import { meterOnRead } from './meter-on-read.js'
import { ServerContext } from './server-context.js'
import { meterEventStream } from './stream-meter.js'
import { syntheticResponse } from './synthetic-response.js'

type Json = Record<string, unknown>

/** The SDK's request options, as far as we read them. */
interface RequestOptions {
  readonly method?: string
  readonly path?: string
  readonly body?: unknown
  readonly fetchOptions?: Record<PropertyKey, unknown>
  readonly [key: string]: unknown
}

/** The parts of an `OpenAI` client we use: public `withOptions`/`fetch`, and the request hook. */
export interface OpenAILike {
  withOptions(options: never): unknown
}

interface ClientInternals {
  fetch?: typeof fetch
  withOptions(options: { fetch: typeof fetch }): ClientInternals
  makeRequest(options: RequestOptions | Promise<RequestOptions>, retriesRemaining: number | null, retryOfRequestLogID: string | undefined): Promise<unknown>
}

export interface WithTokenQuotaOptions {
  /** The engine, from `createTokenQuota()`. */
  readonly quota: TokenQuota
  /**
   * Who is calling, when no `quota.withContext()` scope is active: e.g. from `params.user` or
   * `params.safety_identifier`. Only use fields your server sets, not ones a client chose.
   */
  readonly context?: (params: Json, request: { readonly path: string }) => QuotaContext | undefined
  /** What to do when the requested model's reservation is refused. See {@link FallbackOption}. */
  readonly fallback?: FallbackOption
  /** Prompt-token estimator. @default the quota's estimator (a fast heuristic) */
  readonly estimator?: TokenEstimator
  /**
   * Output tokens reserved for a request that sets no cap (`max_completion_tokens`,
   * `max_tokens`, `max_output_tokens`). A response longer than this is still charged in full.
   * @default 4096
   */
  readonly defaultMaxOutputTokens?: number
  /**
   * What a stream that stops early (the caller breaks off or aborts, or the connection fails)
   * is charged: `produced` = prompt estimate + the output received so far; `reservation` = all of it.
   * @default 'produced'
   */
  readonly onStreamAbort?: StreamAbortCharge
  /**
   * Input tokens assumed for server-side context this client has not seen: a Responses call with
   * `previous_response_id` of a response made elsewhere, or with a `conversation`. (A continuation
   * of a response this client charged is reserved for that response's real size.) Raise it if
   * your conversations run longer.
   * @default 32_000
   */
  readonly serverContextTokens?: number
}

const wrapped = Symbol.for('tokenquota.openai.wrapped')
const callKey = Symbol.for('tokenquota.openai.call')

/** What the gate hands the transport for one call: a metered call, or a ready fallback response. */
type CallPlan =
  | {
      readonly metered: MeteredCall
      readonly kind: EndpointKind
      /** We added `stream_options.include_usage`: hide its chunk from the caller. */
      readonly hideUsageChunk: boolean
    }
  | { readonly synthetic: Response }

/**
 * Returns a client of exactly the type given (a new instance made with `withOptions`, the original
 * is untouched) on which every token-consuming call — `chat.completions.create`, `responses.create`,
 * `embeddings.create`, `completions.create`, and the helpers built on them — is reserved against the
 * caller's quota before it is sent and charged with the usage the provider returns.
 *
 * @example
 * const client = withTokenQuota(new OpenAI(), { quota })
 * await quota.withContext({ user: 'alice' }, () => client.chat.completions.create({ model: 'gpt-4o', messages }))
 */
export function withTokenQuota<Client extends OpenAILike>(client: Client, options: WithTokenQuotaOptions): Client {
  const raw = client as unknown as ClientInternals & Record<symbol, unknown>
  if (raw[wrapped]) throw new TypeError('This OpenAI client is already wrapped by withTokenQuota(); wrap the original client once')
  if (typeof raw.withOptions !== 'function' || typeof (raw as { makeRequest?: unknown }).makeRequest !== 'function') {
    throw new TypeError('withTokenQuota() expects an OpenAI client from the `openai` package, version 5 to 7')
  }
  const { quota } = options
  const estimator = options.estimator ?? quota.estimator
  const defaultMaxOutputTokens = options.defaultMaxOutputTokens ?? 4096
  const onStreamAbort = options.onStreamAbort ?? 'produced'
  const transport = raw.fetch ?? globalThis.fetch

  const serverContext = new ServerContext(options.serverContextTokens ?? 32_000)

  /** Synchronous unless the estimator is (an exact tokenizer still loading). */
  function estimatePromptOf(kind: EndpointKind, body: Json): number | Promise<number> {
    const prompt = promptOf(kind, body)
    const withContext = kind === 'responses' ? { ...prompt, fixedTokens: (prompt.fixedTokens ?? 0) + serverContext.tokensOf(body) } : prompt
    return estimatePrompt(withContext, framingOf(kind), estimator)
  }

  /** Reserves for a call before its first attempt, applying fallbacks; decides what the transport does. */
  async function gate(request: RequestOptions): Promise<RequestOptions> {
    const kind = endpointOf(request.method, request.path)
    if (!kind || typeof request.body !== 'object' || request.body === null) return request
    const body = request.body as Json
    const context = quota.currentContext() === undefined ? options.context?.(body, { path: request.path! }) : undefined
    const estimating = estimatePromptOf(kind, body)
    const promptTokens = typeof estimating === 'number' ? estimating : await estimating
    const estimate = { input: promptTokens, output: maxOutputTokens(kind, body, defaultMaxOutputTokens) }

    const model = typeof body.model === 'string' ? body.model : undefined
    const reservation = await reserveCall({ quota, context, estimate, model, fallback: options.fallback, params: body })
    if (reservation.kind === 'response') return withPlan(request, { synthetic: syntheticResponse(kind, body, reservation.response) })
    const { lease } = reservation
    const sent: Json = { ...body, model: reservation.model }
    let hideUsageChunk = false
    if (body.stream === true && (kind === 'chat' || kind === 'completions') && (body.stream_options as Json | undefined)?.include_usage !== true) {
      sent.stream_options = { ...(body.stream_options as Json | undefined), include_usage: true }
      hideUsageChunk = true
    }
    // A clamp bounds the call's whole output; the field caps each choice.
    if (lease.maxOutputTokens !== undefined) sent[maxOutputField(kind, body)!] = Math.max(1, Math.floor(lease.maxOutputTokens / outputChoices(kind, body)))
    const metered = new MeteredCall({ label: kind, lease, promptTokens, quota, estimator, onStreamAbort })
    return withPlan({ ...request, body: sent }, { metered, kind, hideUsageChunk })
  }

  function withPlan(request: RequestOptions, plan: CallPlan): RequestOptions {
    return { ...request, fetchOptions: { ...request.fetchOptions, [callKey]: plan } }
  }

  /**
   * A metered endpoint's request that reached the transport without a plan (sent some way that
   * bypassed the gate): reserved here, from its body, so it is never free — and reported.
   */
  async function planAtTransport(
    input: string | URL | Request,
    init: RequestInit | undefined,
  ): Promise<{ plan: CallPlan | undefined; init: RequestInit | undefined }> {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname
    const kind = endpointOf(init?.method ?? (input instanceof Request ? input.method : 'GET'), path)
    if (!kind) return { plan: undefined, init }
    quota.emit('warning', {
      code: 'UnplannedRequest',
      message: `A ${kind} request (${path}) reached the transport without passing the quota gate; it is reserved and charged there`,
    })
    const body = typeof init?.body === 'string' ? parseJsonObject(init.body) : undefined
    // A body we cannot read is estimated from its size: a JSON request of these endpoints is text.
    const text = typeof init?.body === 'string' ? init.body : ''
    const gated = await gate({ method: 'post', path, body: body ?? { messages: [{ role: 'user', content: text }], input: text, prompt: text } })
    const plan = gated.fetchOptions?.[callKey] as CallPlan | undefined
    return { plan, init: body && plan && 'metered' in plan ? { ...init, body: JSON.stringify(gated.body) } : init }
  }

  /** Every attempt's HTTP exchange: answers fallbacks locally, meters successful responses. */
  async function meteringFetch(input: string | URL | Request, givenInit?: RequestInit): Promise<Response> {
    let init = givenInit
    let plan = (init as Record<symbol, CallPlan | undefined> | undefined)?.[callKey]
    const gatedHere = !plan
    if (gatedHere) ({ plan, init } = await planAtTransport(input, init))
    if (plan && 'synthetic' in plan) return plan.synthetic
    if (plan) plan.metered.sending(init?.signal)
    let response: Response
    try {
      response = await transport(input, init)
    } catch (error) {
      if (plan && gatedHere) await plan.metered.fail(error)
      throw error
    }
    if (plan && gatedHere && !response.ok) await plan.metered.release()
    if (!plan || !response.ok) return response
    const { metered, kind, hideUsageChunk } = plan
    if (response.headers.get('content-type')?.includes('text/event-stream') && response.body) {
      const body = meterEventStream(response.body, {
        kind,
        hideUsageChunk,
        onUsage: (event) => {
          if (kind === 'responses') serverContext.remember(event)
          return metered.commitUsage(usageOf(kind, event), '')
        },
        onEnd: (produced) => metered.commitUsage(undefined, produced),
        onInterrupted: (produced) => metered.commitInterrupted(produced),
      })
      return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
    }
    return meterOnRead(
      response,
      (parsed) => {
        if (kind === 'responses') serverContext.remember(parsed)
        return metered.commitUsage(usageOf(kind, parsed), outputTextOf(kind, parsed))
      },
      () => metered.commitInterrupted(''),
    )
  }

  const derived = raw.withOptions({ fetch: meteringFetch as typeof fetch }) as ClientInternals & Record<symbol, unknown>
  const makeRequest = derived.makeRequest
  // Retries re-enter makeRequest with a retry id: only the first attempt reserves, and only the
  // call as a whole (all retries exhausted) settles a failure: released, or charged when it was
  // aborted after being sent.
  derived.makeRequest = async function (this: ClientInternals, optionsInput, retriesRemaining, retryOfRequestLogID) {
    if (retryOfRequestLogID !== undefined) return makeRequest.call(this, optionsInput, retriesRemaining, retryOfRequestLogID)
    const request = await gate(await optionsInput)
    try {
      return await makeRequest.call(this, request, retriesRemaining, retryOfRequestLogID)
    } catch (error) {
      const plan = request.fetchOptions?.[callKey] as CallPlan | undefined
      if (plan && 'metered' in plan) await plan.metered.fail(error)
      throw error
    }
  }
  derived.withOptions = (overrides: never) => withTokenQuota(raw.withOptions(overrides) as unknown as Client, options) as unknown as ClientInternals
  Object.defineProperty(derived, wrapped, { value: true })
  return derived as unknown as Client
}

function parseJsonObject(text: string): Json | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined
  } catch {
    return undefined
  }
}
