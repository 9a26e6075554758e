import type { QuotaContext } from '../shared/types.js'

/** Request fields that do not change the answer: how it is delivered, and who asked. */
const deliveryFields = new Set(['stream', 'stream_options', 'user', 'safety_identifier', 'metadata', 'signal', 'abortSignal'])

export interface ResponseCacheOptions {
  /** How long an answer may be served after it was given. @default 600_000 (10 minutes) */
  readonly ttlMs?: number
  /** The most answers kept; the least recently used go first. @default 1000 */
  readonly maxEntries?: number
  /** Serve an answer to anyone who sends the same request, not only to the caller it was given to. @default false */
  readonly shared?: boolean
  /** The clock (the quota's, in tests). @default Date.now */
  readonly now?: () => number
}

/**
 * Recent answers, for the `fallback: cache` of a caller over budget: the same request (model and
 * parameters, exactly; delivery fields such as `stream` aside) gets the answer it got before,
 * in the SDK's own shape, without calling the provider or charging. Requests with tools are never
 * cached (an answer there is a step of an agent, not a reply). In this process's memory.
 */
export class ResponseCache {
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #shared: boolean
  readonly #now: () => number
  readonly #entries = new Map<string, { readonly text: string; readonly expiresAt: number }>()

  constructor(options: ResponseCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 600_000
    this.#maxEntries = options.maxEntries ?? 1000
    this.#shared = options.shared ?? false
    this.#now = options.now ?? Date.now
  }

  /** The key of a request by a caller, or `undefined` for a request that is never cached. */
  keyOf(context: QuotaContext, model: string | undefined, params: Readonly<Record<string, unknown>>): string | undefined {
    if (Array.isArray(params.tools) ? params.tools.length > 0 : params.tools !== undefined) return undefined
    const request = Object.fromEntries(Object.entries(params).filter(([field]) => !deliveryFields.has(field)))
    return stableJson({ caller: this.#shared ? null : context, model: model ?? null, request })
  }

  get(key: string): string | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.expiresAt <= this.#now()) return undefined
    this.#entries.set(key, entry) // most recently used last
    return entry.text
  }

  set(key: string, text: string): void {
    if (text === '') return
    this.#entries.delete(key)
    this.#entries.set(key, { text, expiresAt: this.#now() + this.#ttlMs })
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value!)
  }
}

/** JSON with object keys sorted, so equal requests give equal keys. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
}
