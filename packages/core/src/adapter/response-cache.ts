import { QuotaConfigError } from '../shared/errors.js'
import type { QuotaContext } from '../shared/types.js'

/** Request fields that do not change the answer: how it is delivered, and who asked. */
const deliveryFields = new Set(['stream', 'stream_options', 'user', 'safety_identifier', 'metadata', 'signal', 'abortSignal'])

export interface ResponseCacheOptions {
  /** How long an answer may be served after it was given. @default 600_000 (10 minutes) */
  readonly ttlMs?: number
  /** The most answers kept; the least recently used go first. @default 1000 */
  readonly maxEntries?: number
  /**
   * The most memory the cache holds, in bytes: each entry counts its request key and its answer at
   * two bytes a character (JavaScript strings at their widest); the least recently used go first,
   * and an entry larger than the whole bound is not kept. @default 33_554_432 (32 MiB)
   */
  readonly maxBytes?: number
  /** Serve an answer to anyone who sends the same request, not only to the caller it was given to. @default false */
  readonly shared?: boolean
  /** The clock (the quota's, in tests). @default Date.now */
  readonly now?: () => number
}

/**
 * Recent answers, for the `fallback: cache` of a caller over budget: the same request (model and
 * parameters, exactly; delivery fields such as `stream` aside) gets the answer it got before,
 * in the SDK's own shape, without calling the provider or charging. Only the answer's visible text
 * is kept (not reasoning, thinking or tool calls), and only of a call that completed with its usage
 * and a single choice. Requests with tools are never cached (an answer there is a step of an agent,
 * not a reply). In this process's memory, bounded by `maxEntries` and `maxBytes`.
 */
export class ResponseCache {
  /** The byte bound in force (see {@link ResponseCacheOptions.maxBytes}). */
  readonly maxBytes: number
  readonly #ttlMs: number
  readonly #maxEntries: number
  readonly #shared: boolean
  readonly #now: () => number
  readonly #entries = new Map<string, { readonly text: string; readonly expiresAt: number; readonly bytes: number }>()
  #bytes = 0

  constructor(options: ResponseCacheOptions = {}) {
    this.#ttlMs = positiveIntegerOption(options.ttlMs, 'ttlMs', 600_000)
    this.#maxEntries = positiveIntegerOption(options.maxEntries, 'maxEntries', 1000)
    this.maxBytes = positiveIntegerOption(options.maxBytes, 'maxBytes', 32 * 1024 * 1024)
    this.#shared = options.shared ?? false
    this.#now = options.now ?? Date.now
  }

  /** The bytes the cache holds now, as `maxBytes` counts them. */
  get bytes(): number {
    return this.#bytes
  }

  /** The key of a request by a caller, or `undefined` for a request that is never cached. */
  keyOf(context: QuotaContext, model: string | undefined, params: Readonly<Record<string, unknown>>): string | undefined {
    if (Array.isArray(params.tools) ? params.tools.length > 0 : params.tools !== undefined) return undefined
    const request = Object.fromEntries(Object.entries(params).filter(([field]) => !deliveryFields.has(field)))
    return stableJson({ caller: this.#shared ? null : context, model: model ?? null, request })
  }

  /** The answer kept for a request's key, unless it expired. */
  get(key: string): string | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#delete(key)
    if (entry.expiresAt <= this.#now()) return undefined
    this.#add(key, entry) // most recently used last
    return entry.text
  }

  /** Keeps the visible answer to a request; the least recently used go when a bound is passed. */
  set(key: string, text: string): void {
    this.#delete(key)
    const bytes = 2 * (key.length + text.length)
    if (text === '' || bytes > this.maxBytes) return
    this.#add(key, { text, expiresAt: this.#now() + this.#ttlMs, bytes })
    while (this.#entries.size > this.#maxEntries || this.#bytes > this.maxBytes) this.#delete(this.#entries.keys().next().value!)
  }

  #add(key: string, entry: { readonly text: string; readonly expiresAt: number; readonly bytes: number }): void {
    this.#entries.set(key, entry)
    this.#bytes += entry.bytes
  }

  #delete(key: string): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    this.#entries.delete(key)
    this.#bytes -= entry.bytes
  }
}

function positiveIntegerOption(value: number | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback
  if (Number.isSafeInteger(value) && value > 0) return value
  throw new QuotaConfigError({ code: 'InvalidConfiguration', field, message: `ResponseCache: ${field} must be a positive integer, got ${value}` })
}

/** JSON with object keys sorted, so equal requests give equal keys. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  )
}
