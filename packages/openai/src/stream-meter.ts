import type { Usage } from '@tokenquota/core'
import { eventData, eventJson, meterEventStream, StreamMeter, type MeteredCall } from '@tokenquota/core/adapter'
import { isUsageEvent, streamedTextOf, type EndpointKind } from './endpoints.js'

type Json = Record<string, unknown>

export interface EventStreamOptions {
  readonly kind: EndpointKind
  /** Drop the usage-only chunk (`choices: []`): we asked for it, the caller did not. */
  readonly hideUsageChunk: boolean
  /** The usage an event carries (the event that has it: the last chunk, `response.completed`). */
  usageOf(event: Json): Usage | undefined
}

/** Events that may carry the usage: only these are parsed while the stream flows. */
const usageHint = /"usage"\s*:\s*\{|"type"\s*:\s*"response\.(?:completed|incomplete|failed)"/
/** Unparsed event data kept for the produced text, before it is parsed down to text. */
const maxUnparsedLength = 65_536

/**
 * Reads an event stream block by block for its meter: the usage event (charged at once), `[DONE]`,
 * and the text generated — kept unparsed until the meter asks, since it matters only if the usage
 * never comes.
 */
class EventStreamTally {
  readonly #options: EventStreamOptions
  readonly meter: StreamMeter
  #unparsed: string[] = []
  #unparsedLength = 0

  constructor(call: MeteredCall, options: EventStreamOptions) {
    this.#options = options
    this.meter = new StreamMeter(call, { unreadText: () => this.#parseUnread() })
  }

  #parseUnread(): string {
    let text = ''
    for (const data of this.#unparsed) {
      const event = eventJson(data)
      if (event) text += streamedTextOf(this.#options.kind, event)
    }
    this.#unparsed = []
    this.#unparsedLength = 0
    return text
  }

  /** Notes one event; `false` drops it (the usage chunk we asked for). */
  inspect(block: string): boolean {
    const data = eventData(block)
    if (data === '[DONE]') this.meter.endMarker()
    if (this.meter.settled) return true
    if (usageHint.test(data)) {
      const event = eventJson(data)
      if (event && isUsageEvent(this.#options.kind, event)) {
        void this.meter.usage(this.#options.usageOf(event))
        return !(this.#options.hideUsageChunk && Array.isArray(event.choices) && event.choices.length === 0)
      }
    }
    this.#unparsed.push(data)
    this.#unparsedLength += data.length
    if (this.#unparsedLength > maxUnparsedLength) this.meter.text(this.#parseUnread())
    return true
  }
}

/**
 * Passes a provider's event stream through, byte for byte except the hidden usage chunk, charging
 * its call: the usage event, or what was generated when it never came or the stream stopped early.
 */
export function meterChatEventStream(source: ReadableStream<Uint8Array>, call: MeteredCall, options: EventStreamOptions): ReadableStream<Uint8Array> {
  const tally = new EventStreamTally(call, options)
  return meterEventStream(source, tally.meter, (block) => tally.inspect(block))
}
