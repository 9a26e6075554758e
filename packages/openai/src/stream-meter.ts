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

/** The data of one server-sent event block. */
function eventData(block: string): string {
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
 * Passes a provider's event stream through, byte for byte except the hidden usage chunk, while
 * metering it: the text generated so far, and the usage event. Reading is pulled by the consumer,
 * so a consumer that stops reading (or cancels) stops the upstream read too.
 */
export function meterEventStream(source: ReadableStream<Uint8Array>, handlers: StreamMeterHandlers): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  let pending = ''
  let produced = ''
  let usageSeen: Promise<void> | undefined
  /** The `[DONE]` sentinel arrived: a cancel after it is the consumer closing a finished stream. */
  let sentinelSeen = false

  function inspect(block: string): boolean {
    const data = eventData(block)
    if (data === '[DONE]') sentinelSeen = true
    const event = eventJson(data)
    if (!event) return true
    produced += streamedTextOf(handlers.kind, event)
    if (!usageSeen && isUsageEvent(handlers.kind, event)) {
      usageSeen = handlers.onUsage(event)
      if (handlers.hideUsageChunk && Array.isArray(event.choices) && event.choices.length === 0) return false
    }
    return true
  }

  /** Splits complete events off the pending text; returns what to forward. */
  function forward(text: string, final: boolean): string {
    pending += text
    let output = ''
    for (let match = eventBoundary.exec(pending); match; match = eventBoundary.exec(pending)) {
      const block = pending.slice(0, match.index)
      pending = pending.slice(match.index + match[0].length)
      if (inspect(block)) output += block + match[0]
    }
    if (final && pending !== '') {
      if (inspect(pending)) output += pending
      pending = ''
    }
    return output
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        // Loop until something is forwarded: a pull that enqueues nothing is not called again.
        for (;;) {
          const { done, value } = await reader.read()
          if (done) {
            const rest = forward(decoder.decode(), true)
            if (rest) controller.enqueue(encoder.encode(rest))
            await (usageSeen ?? handlers.onEnd(produced))
            controller.close()
            return
          }
          const output = forward(decoder.decode(value, { stream: true }), false)
          if (output) {
            controller.enqueue(encoder.encode(output))
            return
          }
        }
      } catch (error) {
        await (usageSeen ?? handlers.onInterrupted(produced))
        controller.error(error)
      }
    },
    async cancel(reason) {
      await (usageSeen ?? (sentinelSeen ? handlers.onEnd(produced) : handlers.onInterrupted(produced)))
      await reader.cancel(reason).catch(() => undefined)
    },
  })
}
