import type { Usage } from '../shared/types.js'
import { isTokenCount } from '../shared/usage.js'
import type { CountedPrompt, MeteredCall } from './metered-call.js'

/**
 * Meters one streamed answer for its {@link MeteredCall}: the text produced so far, the usage, the
 * provider's end marker, the end, an early stop. Settles the call once: with the final usage when it
 * came, else with an estimate of what was produced — as a stream without usage at its end (a
 * `UsageMissing` warning), or by the call's `onStreamAbort` rule when it stopped early.
 */
export class StreamMeter {
  readonly #call: MeteredCall
  readonly #unreadText: (() => string) | undefined
  #produced = ''
  #answer: string | undefined = ''
  #lastUsage: Usage | undefined
  #prompt: CountedPrompt | undefined
  #endMarkerSeen = false
  #settling: Promise<void> | undefined

  /** `unreadText`: text the adapter holds unparsed (parsed only when the usage never comes). */
  constructor(call: MeteredCall, options: { readonly unreadText?: () => string } = {}) {
    this.#call = call
    this.#unreadText = options.unreadText
  }

  /** The final usage arrived (or the call was otherwise settled): what follows changes nothing. */
  get settled(): boolean {
    return this.#settling !== undefined
  }

  get producedText(): string {
    if (this.#unreadText) this.#produced += this.#unreadText()
    return this.#produced
  }

  /** Text the answer added (content, reasoning, tool-call arguments). */
  text(delta: string): void {
    if (delta !== '') this.#produced += delta
  }

  /**
   * Visible text the answer added (what its reader sees: no reasoning, no tool input), for a response
   * cache; `undefined`: the answer is not one text (several choices, a tool call) and is not kept.
   * Only kept when the call wants it (`MeteredCall.keepsAnswer`).
   */
  answer(delta: string | undefined): void {
    if (!this.#call.keepsAnswer || this.#answer === undefined) return
    this.#answer = delta === undefined ? undefined : this.#answer + delta
  }

  /**
   * The final usage arrived: charged now. `outputText` replaces the produced text for the estimate a
   * malformed usage falls back to; `answer`, the visible text collected with `answer()`.
   */
  usage(usage: Usage | undefined, outputText?: string, answer?: string): Promise<void> {
    const options = { prompt: this.#prompt, answer: answer ?? this.#answer }
    this.#settling ??= this.#call.commitUsage(usage, outputText ?? (() => this.producedText), options)
    return this.#settling
  }

  /** Usage that a later part may replace (Gemini repeats it on every chunk): charged at the end. */
  lastUsage(usage: Usage | undefined): void {
    if (usage !== undefined) this.#lastUsage = usage
  }

  /**
   * The provider counted the prompt before the answer (Anthropic's `message_start`): an end without
   * usage, or a stop, charges this count, not the estimate, with its cache shares at their own
   * weights (a malformed share is dropped: those tokens are charged as plain input).
   */
  promptCounted(prompt: number | CountedPrompt): void {
    const { input, cachedInput = 0, cacheWrite = 0 } = typeof prompt === 'number' ? { input: prompt } : prompt
    if (!isTokenCount(input)) return
    const shares = isTokenCount(cachedInput) && isTokenCount(cacheWrite) && cachedInput + cacheWrite <= input
    this.#prompt = shares ? { input, cachedInput, cacheWrite } : { input }
  }

  /** The provider's end marker arrived (`[DONE]`): a stop after it is a consumer closing a finished stream. */
  endMarker(): void {
    this.#endMarkerSeen = true
  }

  /** The stream ended: charged with its usage, or with an estimate when none came. */
  end(): Promise<void> {
    return this.usage(this.#lastUsage)
  }

  /** The stream stopped early (cancelled, broken): charged by the `onStreamAbort` rule, unless its usage already came. */
  stop(): Promise<void> {
    if (this.#endMarkerSeen) return this.end()
    this.#settling ??= this.#call.commitInterrupted(this.producedText, this.#prompt)
    return this.#settling
  }
}

/**
 * Passes a stream through, pulled by its consumer (a consumer that stops reading stops the upstream
 * read too), showing each item to `pass`, which meters it and returns what to forward (`undefined`:
 * nothing). `flush` forwards what is left at the end. The meter is ended, or stopped on a cancel or
 * a failure, before the consumer sees the end.
 */
export function meterReadableStream<In, Out = In>(
  source: ReadableStream<In>,
  meter: StreamMeter,
  pass: (item: In) => Out | undefined,
  flush?: () => Out | undefined,
): ReadableStream<Out> {
  const reader = source.getReader()
  return new ReadableStream<Out>({
    async pull(controller) {
      try {
        // Loop until something is forwarded: a pull that enqueues nothing is not called again.
        for (;;) {
          const { done, value } = await reader.read()
          if (done) {
            const rest = flush?.()
            if (rest !== undefined) controller.enqueue(rest)
            await meter.end()
            controller.close()
            return
          }
          const output = pass(value)
          if (output !== undefined) {
            controller.enqueue(output)
            return
          }
        }
      } catch (error) {
        await meter.stop()
        controller.error(error)
      }
    },
    async cancel(reason) {
      await meter.stop()
      await reader.cancel(reason).catch(() => undefined)
    },
  })
}

/** Passes an async iterable through, showing each item to `note`; the meter ends with it, or stops when the consumer breaks off or it fails. */
export async function* meterAsyncIterable<Item>(source: AsyncIterable<Item>, meter: StreamMeter, note: (item: Item) => void): AsyncGenerator<Item> {
  let finished = false
  try {
    for await (const item of source) {
      note(item)
      yield item
    }
    finished = true
    await meter.end()
  } finally {
    if (!finished) await meter.stop()
  }
}
