import { textOfContent } from './usage.js'
import type { Json } from '@tokenquota/core/adapter'

const zeroUsage = { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 }

function message(answer: string | Json, model: string | undefined): Json {
  if (typeof answer !== 'string') return answer
  return {
    id: `msg_tokenquota_${crypto.randomUUID().replaceAll('-', '')}`,
    type: 'message',
    role: 'assistant',
    model: model ?? 'unknown',
    content: [{ type: 'text', text: answer, citations: null }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: zeroUsage,
  }
}

/** A Message as the events of a stream, as the API sends them: its text in one delta. */
function messageEvents(whole: Json): string {
  const events: Json[] = [
    { type: 'message_start', message: { ...whole, content: [], stop_reason: null, stop_sequence: null, usage: zeroUsage } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: textOfContent(whole.content) } },
    { type: 'content_block_stop', index: 0 },
    { type: 'message_delta', delta: { stop_reason: whole.stop_reason ?? 'end_turn', stop_sequence: null }, usage: { output_tokens: 0 } },
    { type: 'message_stop' },
  ]
  return events.map((event) => `event: ${event.type as string}\ndata: ${JSON.stringify(event)}\n\n`).join('')
}

/**
 * A fallback's ready answer as the Messages API would send it: a Message (a string becomes its
 * text), or its event stream when the call streams. Zero usage: nothing was generated or charged.
 */
export function syntheticResponse(answer: string | Json, model: string | undefined, streamed: boolean): Response {
  const whole = message(answer, model)
  const headers = { 'request-id': 'req_tokenquota_fallback' }
  if (!streamed) return Response.json(whole, { headers })
  return new Response(messageEvents(whole), { headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8' } })
}
