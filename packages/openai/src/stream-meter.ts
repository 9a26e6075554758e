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
 * Passes a provider's event stream through, byte for byte except the hidden usage chunk, while
 * metering it: the text generated so far, and the usage event. Reading is pulled by the consumer,
 * so a consumer that stops reading (or cancels) stops the upstream read too.
 */
export function meterEventStream(source: ReadableStream<Uint8Array>, handlers: StreamMeterHandlers): ReadableStream<Uint8Array> {
  const reader = source.getReader()
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  let pending = ''
  let usageSeen: Promise<void> | undefined
  /** The `[DONE]` sentinel arrived: a cancel after it is the consumer closing a finished stream. */
  let sentinelSeen = false
  // The text generated so far matters only if the usage never comes: parse events for it lazily.
  let produced = ''
  let unparsed: string[] = []
  let unparsedLength = 0

  function producedText(): string {
    for (const data of unparsed) {
      const event = eventJson(data)
      if (event) produced += streamedTextOf(handlers.kind, event)
    }
    unparsed = []
    unparsedLength = 0
    return produced
  }

  function inspect(block: string): boolean {
    const data = eventData(block)
    if (data === '[DONE]') sentinelSeen = true
    if (usageSeen) return true
    if (usageHint.test(data)) {
      const event = eventJson(data)
      if (event && isUsageEvent(handlers.kind, event)) {
        usageSeen = handlers.onUsage(event)
        return !(handlers.hideUsageChunk && Array.isArray(event.choices) && event.choices.length === 0)
      }
    }
    unparsed.push(data)
    unparsedLength += data.length
    if (unparsedLength > maxUnparsedLength) producedText()
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
            await (usageSeen ?? handlers.onEnd(producedText()))
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
        await (usageSeen ?? handlers.onInterrupted(producedText()))
        controller.error(error)
      }
    },
    async cancel(reason) {
      await (usageSeen ?? (sentinelSeen ? handlers.onEnd(producedText()) : handlers.onInterrupted(producedText())))
      await reader.cancel(reason).catch(() => undefined)
    },
  })
}
