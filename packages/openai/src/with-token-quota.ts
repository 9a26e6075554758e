import { CallGate, planOf, type RequestOptions, type WithTokenQuotaOptions } from './call-gate.js'
import { meterResponse } from './meter-response.js'

export type { WithTokenQuotaOptions } from './call-gate.js'

/** The parts of an `OpenAI` client we use: public `withOptions`/`fetch`, and the request hook. */
export interface OpenAILike {
  withOptions(options: never): unknown
}

interface ClientInternals {
  fetch?: typeof fetch
  withOptions(options: { fetch: typeof fetch }): ClientInternals
  makeRequest(options: RequestOptions | Promise<RequestOptions>, retriesRemaining: number | null, retryOfRequestLogID: string | undefined): Promise<unknown>
}

const wrapped = Symbol.for('tokenquota.openai.wrapped')

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
  const transport = raw.fetch ?? globalThis.fetch
  const gate = new CallGate(options)

  /** Every attempt's HTTP exchange: answers fallbacks locally, meters successful responses. */
  async function meteringFetch(input: string | URL | Request, givenInit?: RequestInit): Promise<Response> {
    let init = givenInit
    let plan = planOf(init)
    const gatedHere = !plan
    if (gatedHere) ({ plan, init } = await gate.planAtTransport(input, init))
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
    return meterResponse(plan, response, gate.serverContext)
  }

  const derived = raw.withOptions({ fetch: meteringFetch as typeof fetch }) as ClientInternals & Record<symbol, unknown>
  const makeRequest = derived.makeRequest
  // Retries re-enter makeRequest with a retry id: only the first attempt reserves, and only the
  // call as a whole (all retries exhausted) settles a failure: released, or charged when it was
  // aborted after being sent.
  derived.makeRequest = async function (this: ClientInternals, optionsInput, retriesRemaining, retryOfRequestLogID) {
    if (retryOfRequestLogID !== undefined) return makeRequest.call(this, optionsInput, retriesRemaining, retryOfRequestLogID)
    const request = await gate.gate(await optionsInput)
    try {
      return await makeRequest.call(this, request, retriesRemaining, retryOfRequestLogID)
    } catch (error) {
      const plan = planOf(request.fetchOptions)
      if (plan && 'metered' in plan) await plan.metered.fail(error)
      throw error
    }
  }
  derived.withOptions = (overrides: never) => withTokenQuota(raw.withOptions(overrides) as unknown as Client, options) as unknown as ClientInternals
  Object.defineProperty(derived, wrapped, { value: true })
  return derived as unknown as Client
}
