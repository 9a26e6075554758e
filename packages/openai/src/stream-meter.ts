import type { Usage } from '@tokenquota/core'
import { eventData, eventJson, meterEventStream, StreamMeter, type MeteredCall, UnparsedText, type Json } from '@tokenquota/core/adapter'
import { answerTextOf, isRunningUsage, isUsageEvent, streamedAnswerOf, streamedTextOf } from './usage.js'
import type { EndpointKind } from './prompt.js'

export interface EventStreamOptions {
  readonly kind: EndpointKind
  /** Drop the usage-only chunk (`choices: []`): we asked for it, the caller did not. */
  readonly hideUsageChunk: boolean
  /** The usage an event carries (the event that has it: the last chunk, `response.completed`). */
  usageOf(event: Json): Usage | undefined
}

/** Events that may carry the usage: only these are parsed while the stream flows. */
const usageHint = /"usage"\s*:\s*\{|"type"\s*:\s*"response\.(?:completed|incomplete|failed)"/

/**
 * Reads an event stream block by block for its meter: the usage event (charged at once), `[DONE]`,
 * and the text generated — kept unparsed until the meter asks, since it matters only if the usage
 * never comes.
 */
class EventStreamTally {
  readonly #options: EventStreamOptions
  readonly meter: StreamMeter
  readonly #unread: UnparsedText
  readonly #keepsAnswer: boolean

  constructor(call: MeteredCall, options: EventStreamOptions) {
    this.#options = options
    this.#keepsAnswer = call.keepsAnswer
    this.#unread = new UnparsedText((event) => streamedTextOf(options.kind, event))
    this.meter = new StreamMeter(call, { unreadText: () => this.#unread.take() })
  }

  /** Notes one event; `false` drops it (the usage chunk we asked for). */
  inspect(block: string): boolean {
    const data = eventData(block)
    if (data === '[DONE]') this.meter.endMarker()
    if (this.meter.settled) return true
    if (usageHint.test(data)) {
      const event = eventJson(data)
      if (event && isUsageEvent(this.#options.kind, event) && isRunningUsage(this.#options.kind, event)) {
        this.meter.lastUsage(this.#options.usageOf(event))
      } else if (event && isUsageEvent(this.#options.kind, event)) {
        if (this.#keepsAnswer && this.#options.kind !== 'responses') this.meter.answer(streamedAnswerOf(event))
        const answer = this.#keepsAnswer && this.#options.kind === 'responses' ? (answerTextOf('responses', event) ?? '') : undefined
        void this.meter.usage(this.#options.usageOf(event), undefined, answer)
        return !(this.#options.hideUsageChunk && Array.isArray(event.choices) && event.choices.length === 0)
      }
    }
    // The visible answer is collected only for a response cache (parsing every chunk costs).
    if (this.#keepsAnswer && this.#options.kind !== 'responses') this.meter.answer(streamedAnswerOf(eventJson(data)))
    this.meter.text(this.#unread.add(data))
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
