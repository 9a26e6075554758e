import { type Json, isObject } from '@tokenquota/core/adapter'
/** Responses remembered at most (oldest forgotten first). */
const maxRemembered = 10_000

/**
 * What a Responses call that continues server-side state (`previous_response_id`, `conversation`)
 * carries besides its own input: the provider counts the earlier turns as input tokens, and the
 * request body does not show them.
 *
 * A response this client charged is remembered with its size (input + output tokens: what a
 * continuation from it carries); anything else — a response made elsewhere, a conversation
 * object — is assumed to be `unknownTokens`.
 */
export class ServerContext {
  readonly #sizes = new Map<string, number>()
  readonly #unknownTokens: number

  constructor(unknownTokens: number) {
    this.#unknownTokens = unknownTokens
  }

  /** Tokens of server-side context the request carries (0 when it carries none). */
  tokensOf(body: Json): number {
    const previous = body.previous_response_id
    if (typeof previous === 'string') return this.#sizes.get(previous) ?? this.#unknownTokens
    if (body.conversation !== undefined && body.conversation !== null) return this.#unknownTokens
    return 0
  }

  /** Records a Responses response (a body, or a streamed event carrying one) by its id and usage. */
  remember(parsed: unknown): void {
    const response = isObject(parsed) && isObject(parsed.response) ? parsed.response : parsed
    if (!isObject(response) || typeof response.id !== 'string' || !isObject(response.usage)) return
    const { input_tokens: input, output_tokens: output } = response.usage
    if (typeof input !== 'number' || typeof output !== 'number') return
    if (this.#sizes.size >= maxRemembered) this.#sizes.delete(this.#sizes.keys().next().value!)
    this.#sizes.set(response.id, input + output)
  }
}
