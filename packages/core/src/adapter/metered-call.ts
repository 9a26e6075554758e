import type { TokenEstimator } from '../estimate/estimate.js'
import { QuotaInputError } from '../shared/errors.js'
import type { QuotaLease } from '../engine/lease.js'
import type { TokenQuota } from '../engine/token-quota.js'
import type { Usage } from '../shared/types.js'
import { usageFloor } from '../shared/usage.js'

/** What to charge for a stream that ended early (cancelled by the caller, or broken mid-way). */
export type StreamAbortCharge = 'produced' | 'reservation'

/**
 * The prompt as the provider counted it before its answer (Anthropic's `message_start`): its tokens,
 * cached ones included, and the shares read from and written to its prompt cache, charged at their own weights.
 */
export type CountedPrompt = Pick<Usage, 'cachedInput' | 'cacheWrite'> & { readonly input: number }

/**
 * One metered model call, for adapters: its lease and what is known about its prompt. Settles
 * exactly once, whichever of the response paths (usage, no usage, interruption, failure) gets
 * there first. Settling never throws: store failures are reported by the engine's `storeError`
 * event and the lease then expires on its own.
 */
export class MeteredCall {
  /** What the call is, for messages (e.g. `chat`, `generateContent`). */
  readonly label: string
  readonly lease: QuotaLease
  readonly promptTokens: number
  readonly #quota: TokenQuota
  readonly #estimator: TokenEstimator
  readonly #onStreamAbort: StreamAbortCharge
  readonly #onAnswer: ((text: string) => void) | undefined
  #settled = false
  #sent: { readonly signal: AbortSignal | undefined; readonly abortedBeforeSend: boolean } | undefined

  constructor(options: {
    label: string
    lease: QuotaLease
    promptTokens: number
    quota: TokenQuota
    estimator: TokenEstimator
    onStreamAbort?: StreamAbortCharge
    /** The answer's visible text, when the call completed with its usage (for a response cache). */
    onAnswer?: (text: string) => void
  }) {
    this.label = options.label
    this.lease = options.lease
    this.promptTokens = options.promptTokens
    this.#quota = options.quota
    this.#estimator = options.estimator
    this.#onStreamAbort = options.onStreamAbort ?? 'produced'
    this.#onAnswer = options.onAnswer
  }

  get settled(): boolean {
    return this.#settled
  }

  /** Whether the answer's visible text is wanted (a response cache keeps it): adapters collect it only then. */
  get keepsAnswer(): boolean {
    return this.#onAnswer !== undefined
  }

  /**
   * Charges the provider's usage; falls back to an estimate when it is missing or malformed, of the
   * prompt and `outputText` (a function when the text is costly to build and rarely needed); of
   * `prompt` instead of the prompt's estimate when the provider counted it apart. A usage that
   * counts no output for an answer that has some is malformed too (SDKs such as the AI SDK's and
   * LangChain's fill a count the provider left out with 0), and so is one that counts no input for a
   * prompt (a prompt always costs; `{ prompt_tokens: 0 }` charged the output alone), and a malformed usage is never charged
   * less than its valid counts say (see `usageFloor`). `answer`: the answer as its reader sees it
   * (no reasoning, no tool calls; `undefined` when it has no single text answer), kept by a
   * response cache when the usage was charged.
   */
  async commitUsage(
    usage: Usage | undefined,
    outputText: string | (() => string),
    options: { readonly prompt?: number | CountedPrompt; readonly answer?: string | (() => string | undefined) } = {},
  ): Promise<void> {
    if (!this.#begin()) return
    let text = typeof outputText === 'string' ? outputText : undefined
    const received = () => (text ??= (outputText as () => string)())
    // All zeros is what some compatible servers send when they do not count: a call is never free.
    if (usage !== undefined && !usage.total && !usage.input && !usage.output) usage = undefined
    let problem =
      usage === undefined
        ? 'no usage'
        : usage.output === 0 && received() !== ''
          ? 'usage that counts no output for the output it sent'
          : usage.input === 0 && this.promptTokens > 0
            ? 'usage that counts no input for the prompt it was sent'
            : undefined
    if (usage !== undefined && problem === undefined) {
      try {
        await this.lease.commit(usage)
        if (typeof usage.input === 'number') this.#quota.noteEstimate(this.lease.model, this.promptTokens, usage.input)
        const answer = this.#onAnswer && (typeof options.answer === 'function' ? options.answer() : options.answer)
        if (answer !== undefined) this.#onAnswer?.(answer)
        return
      } catch (error) {
        if (!QuotaInputError.isInstance(error)) return
        problem = `malformed usage (${error.message})`
      }
    }
    this.#quota.emit('warning', { code: 'UsageMissing', message: `The ${this.label} response had ${problem}; charging an estimate` })
    await this.#commitEstimate(received(), options.prompt, usage)
  }

  /** For calls whose provider never reports usage (e.g. Gemini embeddings): charge the estimate, quietly. */
  async commitEstimate(outputText: string): Promise<void> {
    if (!this.#begin()) return
    await this.#commitEstimate(outputText)
  }

  /**
   * A stream stopped before its usage arrived: charge the prompt and what was generated — or,
   * when nothing of the answer was seen, the reservation (the provider bills what it processed,
   * a long reasoning phase included). `prompt`: the provider's own count of the prompt, when the
   * stream told it before stopping (it replaces the estimate, its cache shares at their own weights).
   */
  async commitInterrupted(producedText: string, prompt?: number | CountedPrompt): Promise<void> {
    if (!this.#begin()) return
    if (this.#onStreamAbort === 'reservation' || producedText === '') {
      await this.lease.commit().catch(() => undefined)
      return
    }
    await this.#commitEstimate(producedText, prompt)
  }

  /**
   * Call just before the request goes out, with the signal it goes with: a signal already aborted
   * means nothing is sent.
   */
  sending(signal: AbortSignal | null | undefined): void {
    this.#sent = { signal: signal ?? undefined, abortedBeforeSend: signal?.aborted === true }
  }

  /**
   * Sends the call (`send`) with its abort signal, settling a failure: released, or charged when it
   * was aborted after going out (see `fail`). The failure is rethrown. The adapters' one
   * "reserve → send → charge or release" step, between `reserveCall` and a `commit*`.
   */
  async send<T>(signal: AbortSignal | null | undefined, send: () => PromiseLike<T>): Promise<T> {
    this.sending(signal)
    try {
      // A call already aborted is not sent (some SDKs, like @google/genai 1.0, would send it and wait forever).
      signal?.throwIfAborted()
      return await send()
    } catch (error) {
      await this.fail(error)
      throw error
    }
  }

  /**
   * The call failed without an answer. Aborted after it was sent (the caller went away, a timeout),
   * the provider may have processed it all: the reservation is charged. Any other failure (an HTTP
   * error, a connection that never reached the provider, an abort before sending) releases it.
   */
  async fail(error: unknown): Promise<void> {
    const sent = this.#sent
    if (sent !== undefined && !sent.abortedBeforeSend && isAbort(error, sent.signal)) {
      if (!this.#begin()) return
      await this.lease.commit().catch(() => undefined)
      return
    }
    await this.release()
  }

  /** The call never reached the provider: return the reservation. */
  async release(): Promise<void> {
    if (!this.#begin()) return
    await this.lease.release().catch(() => undefined)
  }

  #begin(): boolean {
    if (this.#settled) return false
    this.#settled = true
    return true
  }

  /** Charges the estimate of the prompt and `outputText`, raised to what the valid counts of a malformed `usage` say. */
  async #commitEstimate(outputText: string, prompt: number | CountedPrompt = this.promptTokens, usage?: Usage): Promise<void> {
    try {
      const counted = typeof prompt === 'number' ? { input: prompt } : prompt
      const floor = usageFloor(usage)
      const input = Math.max(counted.input, floor.input)
      // A total above input + output is charged as output, the side that costs more (as normalizeUsage does).
      const output = Math.max(outputText === '' ? 0 : await this.#estimator(outputText), floor.output, floor.total - input)
      await this.lease.commit({ ...counted, input, output }, { estimated: true })
    } catch {
      // Reported through the engine's events; the lease expires on its own.
    }
  }
}

/** An abort error of fetch or of an SDK (OpenAI's `APIUserAbortError`), or any error once the call's signal is aborted. */
function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return true
  const name = (error as { name?: unknown } | null)?.name
  return name === 'AbortError' || name === 'APIUserAbortError' || name === 'TimeoutError'
}
