import { eventData, eventJson, type MeteredCall, meterEventStream, meterOnRead, StreamMeter, UnparsedText, type Json } from '@tokenquota/core/adapter'
import { answerOfContent, answerOfDelta, mergeUsage, textOfContent, textOfDelta, usageOf } from './usage.js'

/**
 * Meters a Messages event stream: the prompt as `message_start` counts it, the text, thinking and
 * tool input of the deltas (kept unparsed: needed only if the usage never comes), and the usage of
 * the final `message_delta` (charged at once, its counts cumulative over `message_start`'s).
 */
function meterMessageStream(source: ReadableStream<Uint8Array>, call: MeteredCall): ReadableStream<Uint8Array> {
  const unread = new UnparsedText(textOfDelta)
  const meter = new StreamMeter(call, { unreadText: () => unread.take() })
  let usage: Json | undefined
  return meterEventStream(source, meter, (block) => {
    if (meter.settled) return true
    if (block.startsWith('event: content_block_delta') && !call.keepsAnswer) {
      meter.text(unread.add(eventData(block)))
      return true
    }
    const event = eventJson(eventData(block))
    switch (event?.type) {
      case 'message_start': {
        usage = (event.message as Json | undefined)?.usage as Json | undefined
        const prompt = usageOf(usage)
        if (prompt?.input !== undefined) meter.promptCounted({ ...prompt, input: prompt.input })
        break
      }
      case 'content_block_delta':
        meter.text(textOfDelta(event))
        meter.answer(answerOfDelta(event))
        break
      case 'message_delta':
        // Without its usage the stream's end charges an estimate (reported), not message_start's first count.
        if (typeof event.usage !== 'object' || event.usage === null) break
        usage = mergeUsage(usage, event.usage)
        void meter.usage(usageOf(usage))
        break
      case 'message_stop':
        meter.endMarker()
        break
    }
    return true
  })
}

/** A successful Messages response, charged as it is read: an event stream, or a Message. */
export function meterResponse(call: MeteredCall, response: Response): Response {
  if (response.headers.get('content-type')?.includes('text/event-stream') && response.body) {
    const body = meterMessageStream(response.body, call)
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
  return meterOnRead(
    response,
    (parsed) => {
      const content = (parsed as Json | undefined)?.content
      return call.commitUsage(usageOf((parsed as Json | undefined)?.usage), textOfContent(content), { answer: () => answerOfContent(content) })
    },
    () => call.commitInterrupted(''),
  )
}
