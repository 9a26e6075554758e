import { isUsageEvent, streamedTextOf, type EndpointKind } from './endpoints.js'

type Json = Record<string, unknown>

export interface StreamMeterHandlers {
  readonly kind: EndpointKind
  /** Drop the usage-only chunk (`choices: []`): we asked for it, the caller did not. */
  readonly hideUsageChunk: boolean
  /** The event carrying the final usage arrived. */
  onUsage(event: Json): Promise<void>
  /** The stream ended without a usage event. */
  onEnd(producedText: string): Promise<void>
  /** The caller cancelled, or the connection failed, before the end. */
  onInterrupted(producedText: string): Promise<void>
}

const eventBoundary = /\r\n\r\n|\n\n|\r\r/

/** Events that may carry the usage: only these are parsed while the stream flows. */
const usageHint = /"usage"\s*:\s*\{|"type"\s*:\s*"response\.(?:completed|incomplete|failed)"/
/** Unparsed event data kept for the produced text, before it is parsed down to text. */
const maxUnparsedLength = 65_536

/** The data of one server-sent event block. */
function eventData(block: string): string {
  if (block.startsWith('data: ') && !block.includes('\n') && !block.includes('\r')) return block.slice(6)
  return block
    .split(/\r\n|\n|\r/)
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n')
}

/** The JSON object an event carries, if any. */
function eventJson(data: string): Json | undefined {
  if (data === '' || data === '[DONE]') return undefined
  try {
    const parsed: unknown = JSON.parse(data)
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : undefined
  } catch {
    return undefined
  }
}

/**
 * What an event stream has shown so far, block by block: whether the usage event came (its charge
 * is then under way), whether `[DONE]` came, and the text generated — parsed lazily, since it
 * matters only if the usage never comes.
 */
class EventStreamTally {
  readonly #handlers: StreamMeterHandlers
  #pending = ''
  usageSeen: Promise<void> | undefined
  /** The `[DONE]` sentinel arrived: a cancel after it is the consumer closing a finished stream. */
  sentinelSeen = false
  #produced = ''
  #unparsed: string[] = []
  #unparsedLength = 0

  constructor(handlers: StreamMeterHandlers) {
    this.#handlers = handlers
  }

  producedText(): string {
    for (const data of this.#unparsed) {
      const event = eventJson(data)
      if (event) this.#produced += streamedTextOf(this.#handlers.kind, event)
    }
    this.#unparsed = []
    this.#unparsedLength = 0
    return this.#produced
  }

  /** Splits complete events off the pending text; returns what to forward. */
  forward(text: string, final: boolean): string {
    this.#pending += text
    let output = ''
    for (let match = eventBoundary.exec(this.#pending); match; match = eventBoundary.exec(this.#pending)) {
      const block = this.#pending.slice(0, match.index)
      this.#pending = this.#pending.slice(match.index + match[0].length)
      if (this.#inspect(block)) output += block + match[0]
    }
    if (final && this.#pending !== '') {
      if (this.#inspect(this.#pending)) output += this.#pending
      this.#pending = ''
    }
    return output
  }

  /** Notes one event; `false` drops it (the usage chunk we asked for). */
  #inspect(block: string): boolean {
    const data = eventData(block)
    if (data === '[DONE]') this.sentinelSeen = true
    if (this.usageSeen) return true
    if (usageHint.test(data)) {
      const event = eventJson(data)
      if (event && isUsageEvent(this.#handlers.kind, event)) {
        this.usageSeen = this.#handlers.onUsage(event)
        return !(this.#handlers.hideUsageChunk && Array.isArray(event.choices) && event.choices.length === 0)
      }
    }
    this.#unparsed.push(data)
    this.#unparsedLength += data.length
    if (this.#unparsedLength > maxUnparsedLength) this.producedText()
    return true
  }
}

/**
 * Passes a provider's event stream through, byte for byte except the hidden usage chunk, while
 * metering it: the text generated so far, and the usage event. Reading is pulled by the consumer,
 * so a consumer that stops reading (or cancels) stops the upstream read too.
 */
export function meterEventStream(source: ReadableStream<Uint8Array>, handlers: StreamMeterHandlers): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  const tally = new EventStreamTally(handlers)
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Loop until something is forwarded: a pull that enqueues nothing is not called again.
        for (;;) {
          const { done, value } = await reader.read()
          if (done) {
            const rest = tally.forward(decoder.decode(), true)
            if (rest) controller.enqueue(encoder.encode(rest))
            await (tally.usageSeen ?? handlers.onEnd(tally.producedText()))
            controller.close()
            return
          }
          const output = tally.forward(decoder.decode(value, { stream: true }), false)
          if (output) {
            controller.enqueue(encoder.encode(output))
            return
          }
        }
      } catch (error) {
        await (tally.usageSeen ?? handlers.onInterrupted(tally.producedText()))
        controller.error(error)
      }
    },
    async cancel(reason) {
      await (tally.usageSeen ?? (tally.sentinelSeen ? handlers.onEnd(tally.producedText()) : handlers.onInterrupted(tally.producedText())))
      await reader.cancel(reason).catch(() => undefined)
    },
  })
}
